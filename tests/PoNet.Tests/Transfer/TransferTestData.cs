using System.Text;
using TorchSharp;

namespace PoNet.Tests.Transfer;

/// <summary>Scratch folders and synthetic corpora whose sentences say where they come from.</summary>
internal static class TransferTestData
{
    public static string Temp(string prefix = "ponet-transfer-") => TestTemp.Dir(prefix);

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
