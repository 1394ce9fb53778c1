using System.Text.Json;
using PoNet.Checkpoints;
using PoNet.Model;
using PoNet.Pretraining;
using PoNet.Tokenization;
using Xunit;
using static PoNet.Tests.Tokenization.TokenizerTestData;

namespace PoNet.Tests.Transfer;

/// <summary>Pre-training objectives (mlm, mlm+nsp, mlm+sso) and architectures (ponet, bert, fnet) through one trainer.</summary>
[Collection(nameof(ConsoleRedirection))]
public class ObjectiveTests
{
    static readonly Lazy<string> Corpus = new(() => TransferTestData.NumberedCorpus(documents: 300, maxSentences: 30));

    [Fact]
    public void NspPairsAreHalfNextHalfFromAnotherDocumentAndNextPairsContinueTheirDocument()
    {
        var stream = new PretrainingExampleStream(new TextCorpus(Corpus.Value), Uncased, new PretrainingDataOptions
        {
            MaxLength = 40, Seed = 3, HeldOutEvery = 10, DupeFactor = 1, SentenceObjective = "nsp",
        }, CorpusSplit.Train);
        var examples = stream.Examples().ToList();
        Assert.All(examples, e => Assert.Contains(e.SsoLabel, new[] { NspLabel.IsNext, NspLabel.Random }));
        double random = examples.Count(e => e.SsoLabel == NspLabel.Random) / (double)examples.Count;
        Assert.InRange(random, 0.42, 0.58); // 1/2, σ ≈ 0.02 here
        Assert.All(examples.Where(e => e.SsoLabel == NspLabel.IsNext), e => Assert.Null(e.OtherDocument));
        Assert.All(examples.Where(e => e.SsoLabel == NspLabel.Random), e => Assert.NotNull(e.OtherDocument));
    }

    static (int Code, string Output) Cli(params string[] args)
    {
        var (code, output, error) = CliRun.Run(args);
        return (code, output + error);
    }

    [Theory]
    [InlineData("bert", null, "BertForPreTraining", "nsp")]
    [InlineData("fnet", null, "FNetForPreTraining", "nsp")]
    [InlineData("ponet", null, "PoNetForPreTraining", "sso")]
    [InlineData("ponet", "mlm+nsp", "PoNetForPreTraining", "nsp")]
    [InlineData("ponet", "mlm", "PoNetForPreTraining", null)]
    public void EveryArchitecturePretrainsWithItsObjectiveAndLearns(string arch, string? objective, string architecture, string? sentence)
    {
        var run = TransferTestData.Temp();
        string[] args = ["pretrain", "--arch", arch, "--corpus", TransferTestData.NumberedCorpus(documents: 40, maxSentences: 12), "--vocab", VocabPath,
            "--out", run, "--layers", "1", "--hidden", "16", "--heads", "2", "--ffn", "32", "--max-length", "32", "--steps", "30", "--batch-size", "8",
            "--lr", "1e-2", "--warmup", "3", "--eval-every", "15", "--eval-examples", "16", "--held-out-every", "5", "--shuffle-buffer", "100"];
        var (code, output) = Cli(objective is null ? args : [.. args, "--objective", objective]);
        Assert.True(code == 0, output);
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "model", "config.json"))).RootElement;
        Assert.Equal(arch, config.GetProperty("model_type").GetString());
        Assert.Equal(architecture, config.GetProperty("architectures")[0].GetString());
        var header = File.ReadLines(Path.Combine(run, "metrics.csv")).First().Split(',');
        Assert.Equal(sentence is not null, header.Contains($"train_{sentence}_loss"));
        Assert.Equal(sentence is not null, header.Contains($"dev_{sentence}_accuracy"));
        var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "results.json"))).RootElement;
        double first = results.GetProperty("initial_eval").GetProperty("mlm_loss").GetDouble();
        double last = results.GetProperty("final_eval").GetProperty("mlm_loss").GetDouble();
        Assert.True(last < first - 1, $"{arch}: held-out MLM loss {first} → {last}");
        var (model, report) = PoNetCheckpoint.Load(Path.Combine(run, "model"), c => new PoNetForPreTraining(c));
        Assert.Empty(report.NewlyInitialized);
        Assert.Equal(arch, model.Config.Family.ModelType);
    }

    [Fact]
    public void SsoOnATwoWayHeadIsRefused()
    {
        var (code, output) = Cli("pretrain", "--arch", "bert", "--objective", "mlm+sso", "--corpus", Corpus.Value, "--vocab", VocabPath,
            "--out", TransferTestData.Temp(), "--layers", "1", "--hidden", "16", "--heads", "2", "--ffn", "32", "--max-length", "32");
        Assert.Equal(2, code);
        Assert.Contains("mlm+sso needs a 3-way sentence head", output);
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("fnet")]
    public void ABertOrFNetCheckpointFineTunesAndClassifiesThroughTheSameCommands(string arch)
    {
        var run = TransferTestData.Temp();
        var (code, output) = Cli("pretrain", "--arch", arch, "--corpus", TransferTestData.NumberedCorpus(documents: 20, maxSentences: 6), "--vocab", VocabPath,
            "--out", run, "--layers", "1", "--hidden", "16", "--heads", "2", "--ffn", "32", "--max-length", "32", "--steps", "2", "--batch-size", "4",
            "--eval-every", "2", "--eval-examples", "4", "--held-out-every", "5", "--shuffle-buffer", "20");
        Assert.True(code == 0, output);
        var data = TransferTestData.Temp();
        string train = Path.Combine(data, "train.jsonl"), dev = Path.Combine(data, "dev.jsonl");
        File.WriteAllLines(train, Enumerable.Range(0, 16).Select(i => $"{{\"text\": \"doc {i} sentence {i % 3}\", \"label\": \"{i % 2}\"}}"));
        File.WriteAllLines(dev, Enumerable.Range(0, 6).Select(i => $"{{\"text\": \"doc {i} sentence {i % 3}\", \"label\": \"{i % 2}\"}}"));
        var tuned = TransferTestData.Temp();
        // --max-length 64 beyond the checkpoint's 32 positions: the table is tiled under the architecture's own prefix.
        (code, output) = Cli("finetune", "--init", Path.Combine(run, "model"), "--train", train, "--dev", dev, "--out", tuned, "--epochs", "1",
            "--batch-size", "8", "--max-length", "64");
        Assert.True(code == 0, output);
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(tuned, "best", "config.json"))).RootElement;
        Assert.Equal(arch, config.GetProperty("model_type").GetString());
        Assert.Equal(64, config.GetProperty("max_position_embeddings").GetInt32());
        (code, output) = Cli("classify", "--model", Path.Combine(tuned, "best"), "--input", dev);
        Assert.True(code == 0, output);
        Assert.Equal(6, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.StartsWith("{\"label\"")));
    }
}
