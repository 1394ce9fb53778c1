using PoNet.Tests.Fuzz;
using Xunit;

namespace PoNet.Tests.Hardening;

/// <summary>
/// Replays the fuzzing corpus (seeds and every crash the fuzzer found, tests/PoNet.Tests/Fuzz/corpus)
/// through every reader: each input is accepted or refused with PoNetInputException, nothing else.
/// </summary>
public class FuzzReplayTests
{
    static readonly string Corpus = Path.Combine(AppContext.BaseDirectory, "Fuzz", "corpus");

    public static TheoryData<string> Targets() => new(FuzzTargets.All.Keys);

    [Theory]
    [MemberData(nameof(Targets))]
    public void EveryCorpusFileIsAcceptedOrRefusedByEveryReader(string target)
    {
        var files = Directory.GetFiles(Corpus, "*", SearchOption.AllDirectories);
        Assert.True(files.Length >= 20, $"corpus missing: {files.Length} files under {Corpus}");
        var scratch = Bytes.TempDir();
        foreach (var file in files)
        {
            try
            {
                FuzzTargets.Run(target, File.ReadAllBytes(file), scratch);
            }
            catch (Exception e)
            {
                Assert.Fail($"{target} on {Path.GetRelativePath(Corpus, file)}: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void EachTargetsOwnSeedsAreAccepted(string target)
    {
        var scratch = Bytes.TempDir();
        // afl-* are paths the fuzzer kept (accepted or refused), crash-* crashed an earlier reader, bad-* are hand-made bad inputs.
        var seeds = Directory.GetFiles(Path.Combine(Corpus, target)).Where(f =>
            !new[] { "crash-", "bad-", "afl-" }.Any(p => Path.GetFileName(f).StartsWith(p, StringComparison.Ordinal))).ToList();
        Assert.NotEmpty(seeds);
        foreach (var seed in seeds) Assert.True(FuzzTargets.Run(target, File.ReadAllBytes(seed), scratch), $"{target} refused its seed {seed}");
    }
}
