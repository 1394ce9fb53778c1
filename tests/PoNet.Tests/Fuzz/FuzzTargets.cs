using System.IO.Compression;
using PoNet.Checkpoints;
using PoNet.FineTuning;
using PoNet.Lra.Data;
using PoNet.Model;
using PoNet.Tokenization;

namespace PoNet.Tests.Fuzz;

/// <summary>
/// Every reader of untrusted bytes, fed one input at a time: the fuzzer (tests/PoNet.Fuzz) and the
/// corpus replay test share this table, so a crash the fuzzer finds is replayed by <c>dotnet test</c>.
/// A reader may answer bad bytes only with <see cref="PoNetInputException"/>; anything else escaping
/// <see cref="Run"/> is a bug.
/// </summary>
public static class FuzzTargets
{
    /// <summary>Target name → (file name the bytes are written to, reader).</summary>
    public static readonly IReadOnlyDictionary<string, (string FileName, Action<string> Read)> All =
        new Dictionary<string, (string, Action<string>)>
        {
            ["safetensors"] = ("model.safetensors", path =>
            {
                foreach (var t in SafeTensors.Load(path).Values) t.Dispose();
            }),
            ["pickle"] = ("pytorch_model.bin", path =>
            {
                foreach (var t in PoNetCheckpoint.ReadStateDict(path).Values) t.Dispose();
            }),
            // The bytes are data.pkl inside an otherwise valid zip (CRCs right, one 4-float storage
            // "0"), so mutations reach the unpickler instead of dying at the zip's checksums.
            ["pickle-data"] = ("data.pkl", path =>
            {
                var zip = Path.ChangeExtension(path, ".bin");
                using (var archive = new ZipArchive(File.Create(zip), ZipArchiveMode.Create))
                {
                    using (var entry = archive.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open())
                        entry.Write(File.ReadAllBytes(path));
                    using (var storage = archive.CreateEntry("archive/data/0", CompressionLevel.NoCompression).Open())
                        storage.Write(new byte[16]);
                    using (var version = archive.CreateEntry("archive/version", CompressionLevel.NoCompression).Open())
                        version.Write("3\n"u8);
                }
                foreach (var t in PoNetCheckpoint.ReadStateDict(zip).Values) t.Dispose();
            }),
            ["config"] = ("config.json", path => PoNetConfig.Load(path)),
            ["shard-index"] = ("model.safetensors.index.json", path => PoNetCheckpoint.WeightFiles(Path.GetDirectoryName(path)!)),
            ["vocab"] = ("vocab.txt", path => BertTokenizer.Load(path)),
            ["tokenizer-json"] = ("tokenizer.json", path => BertTokenizer.Load(path)),
            ["tsv"] = ("table.tsv", path => TextTable.Read(path, TableFormat.Tsv).Count()),
            ["csv"] = ("table.csv", path => TextTable.Read(path, TableFormat.Csv).Count()),
            ["jsonl"] = ("table.jsonl", path => TextTable.Read(path, TableFormat.Jsonl).Count()),
            ["idx-images"] = ("images-idx3-ubyte", path => IdxFile.ReadImages(path)),
            ["idx-labels"] = ("labels-idx1-ubyte", path => IdxFile.ReadLabels(path)),
            ["listops"] = ("basic_train.tsv", path => ListOpsTsv.ReadFile(path)),
        };

    /// <summary>
    /// Writes <paramref name="bytes"/> to a fresh folder under <paramref name="scratch"/> with the
    /// target's file name and reads it back. Returns whether the input was accepted.
    /// </summary>
    public static bool Run(string target, ReadOnlySpan<byte> bytes, string scratch)
    {
        var (fileName, read) = All[target];
        var dir = Path.Combine(scratch, target);
        Directory.CreateDirectory(dir);
        foreach (var stale in Directory.GetFiles(dir)) File.Delete(stale);
        var path = Path.Combine(dir, fileName);
        using (var f = File.Create(path)) f.Write(bytes);
        try
        {
            read(path);
            return true;
        }
        catch (PoNetInputException)
        {
            return false;
        }
    }
}
