using System.Text;
using PoNet.Randomness;

namespace PoNet.Lra.Data;

/// <summary>Sizes of a <see cref="SourceDocumentPairs"/> task.</summary>
public sealed record SourceDocumentPairOptions
{
    public int Train { get; init; } = 20_000;
    public int Dev { get; init; } = 2_000;
    public int Test { get; init; } = 2_000;
    /// <summary>A chunk is whole paragraphs, closed once it reaches this many UTF-8 bytes.</summary>
    public int ChunkBytes { get; init; } = 3_000;
    public int MaxLength { get; init; } = AanReader.MaxLength;
    public string FilePattern { get; init; } = "*.txt";
}

/// <summary>
/// A stand-in for the AAN Retrieval task built from a folder of local text files (the AAN release
/// is not reachable here): is a pair of byte documents from the same source file or not?
/// </summary>
/// <remarks>
/// Each file is cut into chunks of whole paragraphs (blank-line separated) of about
/// <see cref="SourceDocumentPairOptions.ChunkBytes"/> bytes (files of one chunk are left out). Files, not chunks, are split 80/10/10
/// into train/dev/test, so dev and test ask about documents the model never saw. A positive pair is
/// two different chunks of one file, a negative pair two chunks of different files; each split has
/// exactly half positives (label 1) in seeded random order. Like AAN it is a two-document,
/// two-class task at up to 4000 byte tokens per document; unlike AAN the signal is shared topic
/// and style, not citation.
/// </remarks>
public static class SourceDocumentPairs
{
    public static LraSplit<LraPairExample> Build(string folder, SourceDocumentPairOptions options, long seed)
    {
        if (!Directory.Exists(folder))
            throw new PoNetInputException($"{folder}: no such folder (expected text files {options.FilePattern})");
        string[] paths = Directory.GetFiles(folder, options.FilePattern, SearchOption.AllDirectories);
        Array.Sort(paths, StringComparer.Ordinal);
        // Files of one chunk are left out: they could only ever appear in negative pairs, a
        // shortcut a model would learn.
        var files = paths
            .Select(p => SplitIntoChunks(File.ReadAllText(p, Encoding.UTF8), options.ChunkBytes))
            .Where(chunks => chunks.Count >= 2)
            .ToList();
        if (files.Count < 6)
            throw new PoNetInputException($"{folder}: expected at least 6 files {options.FilePattern} of two chunks ({2 * options.ChunkBytes} bytes) or more, found {files.Count}");

        var random = new SeededRandom((ulong)seed);
        random.Shuffle(files);
        int heldOut = Math.Max(2, files.Count / 10);
        var devPart = files[..heldOut];
        var testPart = files[heldOut..(2 * heldOut)];
        var trainPart = files[(2 * heldOut)..];

        int truncated = 0;
        var train = MakePairs(trainPart, options.Train, options.MaxLength, random, ref truncated);
        var dev = MakePairs(devPart, options.Dev, options.MaxLength, random, ref truncated);
        var test = MakePairs(testPart, options.Test, options.MaxLength, random, ref truncated);
        return new LraSplit<LraPairExample>(train, dev, test) { Truncated = truncated };
    }

    /// <summary>
    /// Whole paragraphs gathered until a chunk has <paramref name="chunkBytes"/> UTF-8 bytes; a short
    /// remainder joins the last chunk; a file shorter than one chunk gives none.
    /// </summary>
    internal static List<byte[]> SplitIntoChunks(string text, int chunkBytes)
    {
        var chunks = new List<string>();
        var current = new StringBuilder();
        int currentBytes = 0;
        foreach (string paragraph in text.ReplaceLineEndings("\n").Split("\n\n"))
        {
            string trimmed = paragraph.Trim('\n');
            if (trimmed.Trim().Length == 0)
                continue;
            if (current.Length > 0)
                current.Append("\n\n");
            current.Append(trimmed);
            currentBytes += Encoding.UTF8.GetByteCount(trimmed) + 2;
            if (currentBytes >= chunkBytes)
            {
                chunks.Add(current.ToString());
                current.Clear();
                currentBytes = 0;
            }
        }
        if (current.Length > 0 && chunks.Count > 0)
            chunks[^1] += "\n\n" + current;
        return chunks.Select(Encoding.UTF8.GetBytes).ToList();
    }

    private static List<LraPairExample> MakePairs(List<List<byte[]>> files, int count, int maxLength,
        SeededRandom random, ref int truncated)
    {
        var pairs = new List<LraPairExample>(count);
        for (int i = 0; i < count; i++)
        {
            byte[] a, b;
            int label = i % 2 == 0 ? 1 : 0;
            if (label == 1)
            {
                var file = files[random.Next(files.Count)];
                int first = random.Next(file.Count);
                int second = (first + 1 + random.Next(file.Count - 1)) % file.Count;
                (a, b) = (file[first], file[second]);
            }
            else
            {
                int first = random.Next(files.Count);
                int second = (first + 1 + random.Next(files.Count - 1)) % files.Count;
                a = files[first][random.Next(files[first].Count)];
                b = files[second][random.Next(files[second].Count)];
            }
            if (a.Length > maxLength) truncated++;
            if (b.Length > maxLength) truncated++;
            pairs.Add(new LraPairExample(ByteTokens.Encode(a, maxLength), ByteTokens.Encode(b, maxLength), label));
        }
        random.Shuffle(pairs);
        return pairs;
    }
}
