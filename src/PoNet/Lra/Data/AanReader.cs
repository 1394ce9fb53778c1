using System.Globalization;
using System.Text;

namespace PoNet.Lra.Data;

/// <summary>
/// The LRA Retrieval task as released: <c>new_aan_pairs.{train,eval,test}.tsv</c>, no header, one
/// pair a line: label (1 = citation link, may be written "1.0"), id1, id2, text1, text2, tab-separated.
/// Both texts become byte tokens (<see cref="ByteTokens"/>), each cut at <see cref="MaxLength"/>.
/// </summary>
public static class AanReader
{
    public const int MaxLength = 4000;
    public const string TrainFile = "new_aan_pairs.train.tsv";
    public const string DevFile = "new_aan_pairs.eval.tsv";
    public const string TestFile = "new_aan_pairs.test.tsv";

    public static LraSplit<LraPairExample> ReadFolder(string folder, int maxLength = MaxLength)
    {
        var train = ReadFile(Path.Combine(folder, TrainFile), maxLength, out int t1);
        var dev = ReadFile(Path.Combine(folder, DevFile), maxLength, out int t2);
        var test = ReadFile(Path.Combine(folder, TestFile), maxLength, out int t3);
        return new LraSplit<LraPairExample>(train, dev, test) { Truncated = t1 + t2 + t3 };
    }

    /// <summary>One file; <paramref name="truncated"/> counts documents cut to the maximum length.</summary>
    public static List<LraPairExample> ReadFile(string path, int maxLength, out int truncated)
    {
        if (!File.Exists(path))
            throw new PoNetInputException($"{path}: no such file (expected the AAN pairs TSV: label, id1, id2, text1, text2)");
        var pairs = new List<LraPairExample>();
        truncated = 0;
        long lineNumber = 0;
        foreach (string line in File.ReadLines(path, Encoding.UTF8))
        {
            lineNumber++;
            if (line.Length == 0)
                continue;
            string[] fields = line.Split('\t');
            if (fields.Length != 5)
                throw PoNetInputException.AtLine(path, lineNumber, $"expected 5 tab-separated columns (label, id1, id2, text1, text2), found {fields.Length}");
            if (!double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double label) || label is not (0.0 or 1.0))
                throw PoNetInputException.AtLine(path, lineNumber, $"expected a label 0 or 1 (\"1.0\" allowed), found '{(fields[0].Length <= 20 ? fields[0] : fields[0][..20] + "...")}'");
            pairs.Add(new LraPairExample(Encode(fields[3], maxLength, ref truncated), Encode(fields[4], maxLength, ref truncated), (int)label));
        }
        if (pairs.Count == 0)
            throw PoNetInputException.AtLine(path, Math.Max(1, lineNumber), "the file has no pairs");
        return pairs;
    }

    private static int[] Encode(string text, int maxLength, ref int truncated)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length > maxLength)
            truncated++;
        return ByteTokens.Encode(bytes, maxLength);
    }
}
