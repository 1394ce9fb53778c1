using System.Text;
using TorchSharp;

namespace PoNet.Tests.Transfer;

/// <summary>Scratch folders and synthetic corpora whose sentences say where they come from.</summary>
internal static class TransferTestData
{
    /// <summary>
    /// Scratch folders live under one folder per test process; the test host is not always let run its
    /// exit handlers, so the folders of processes that are gone are removed here instead (model
    /// folders are megabytes each).
    /// </summary>
    static readonly Lazy<string> Root = new(() =>
    {
        var parent = Path.Combine(Path.GetTempPath(), "ponet-transfer-tests");
        Directory.CreateDirectory(parent);
        foreach (var dir in Directory.EnumerateDirectories(parent))
        {
            if (int.TryParse(Path.GetFileName(dir), out int pid) && !Running(pid))
                try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return Directory.CreateDirectory(Path.Combine(parent, Environment.ProcessId.ToString())).FullName;
    });

    static bool Running(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public static string Temp(string prefix = "ponet-transfer-")
    {
        var dir = Path.Combine(Root.Value, prefix + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>
    /// Documents of sentences "Doc d sentence k." (5 tokens each with the BERT vocabulary), documents
    /// separated by blank lines, spread over <paramref name="files"/> files. Sentence counts cycle
    /// through 2..maxSentences so that chunks of several sentences dominate.
    /// </summary>
    public static string NumberedCorpus(int documents, int files = 3, int maxSentences = 9)
    {
        var dir = Temp("ponet-corpus-");
        var writers = Enumerable.Range(0, files).Select(_ => new StringBuilder()).ToArray();
        for (int d = 0; d < documents; d++)
        {
            var text = writers[d * files / documents];
            int sentences = 2 + d % (maxSentences - 1);
            for (int k = 0; k < sentences; k++)
                text.Append($"Doc {d} sentence {k}.").Append(k % 3 == 2 ? "\n" : " ");
            text.Append("\n\n");
        }
        for (int f = 0; f < files; f++) File.WriteAllText(Path.Combine(dir, $"part{f:D2}.txt"), writers[f].ToString());
        return dir;
    }

    /// <summary>Same shape and bit-for-bit the same values.</summary>
    public static bool Same(torch.Tensor a, torch.Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}
