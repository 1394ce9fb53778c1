using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Xunit;
using PoNet.Checkpoints;
using PoNet.FineTuning;
using PoNet.Model;
using static TorchSharp.torch;

namespace PoNet.Tests.Hardening;

/// <summary>Round-trips of the writers through the strict readers, and random corruption of valid files.</summary>
public class RoundTripProperties
{
    static readonly ScalarType[] DTypes =
        [ScalarType.Float32, ScalarType.Float64, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Int64, ScalarType.Int32, ScalarType.Int8, ScalarType.Byte, ScalarType.Bool];

    static string Clean(string? s) => new((s ?? "").Where(c => !char.IsSurrogate(c) && c != '\0').ToArray());

    [Property(MaxTest = 60)]
    public bool SafetensorsWriteThenReadGivesTheSameTensors(byte[] dimSeeds, int dtypeSeed, int count, int seed)
    {
        var dir = Bytes.TempDir();
        var path = Path.Combine(dir, "p.safetensors");
        var tensors = new Dictionary<string, Tensor>();
        var random = new Random(seed);
        for (int k = 0; k < 1 + Math.Abs(count % 4); k++)
        {
            var shape = dimSeeds.Take(1 + k % 3).Select(b => (long)(b % 5)).ToArray();
            var dtype = DTypes[Math.Abs((dtypeSeed + k) % DTypes.Length)];
            var values = Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(_ => random.Next(-100, 100) / 4.0).ToArray();
            var t = tensor(values, dtype: ScalarType.Float64).reshape(shape);
            tensors[$"t{k}.{(char)('a' + random.Next(26))}"] = dtype == ScalarType.Bool ? t.gt(0) : t.to(dtype);
        }
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["seed"] = seed.ToString() });
        var loaded = SafeTensors.Load(path);
        var (_, metadata, _) = SafeTensors.ReadHeader(path);
        return metadata["seed"] == seed.ToString() && loaded.Count == tensors.Count && tensors.All(p =>
            loaded[p.Key].dtype == p.Value.dtype && loaded[p.Key].shape.SequenceEqual(p.Value.shape) && loaded[p.Key].equal(p.Value).all().item<bool>());
    }

    [Property(MaxTest = 200)]
    public bool CorruptingAValidSafetensorsFileNeverThrowsAnythingButBadInput(int[] positions, byte[] values)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fuzz", "corpus", "safetensors", "two-tensors.safetensors");
        var bytes = File.ReadAllBytes(path);
        for (int i = 0; i < Math.Min(positions.Length, values.Length); i++) bytes[Math.Abs(positions[i] % bytes.Length)] = values[i];
        var target = Path.Combine(Bytes.TempDir(), "c.safetensors");
        File.WriteAllBytes(target, bytes);
        try
        {
            foreach (var t in SafeTensors.Load(target).Values) t.Dispose();
        }
        catch (PoNetInputException) { }
        return true; // any other exception fails the property
    }

    [Property(MaxTest = 100)]
    public bool CsvWithQuotesCommasAndLineBreaksRoundTrips((string?, string?, string?)[] rows)
    {
        var records = rows.Select(r => new[] { Clean(r.Item1), Clean(r.Item2), Clean(r.Item3) }).ToList();
        if (records.Count == 0) return true;
        static string Quote(string f) => "\"" + f.Replace("\"", "\"\"") + "\"";
        var text = new StringBuilder("a,b,c\n");
        foreach (var r in records) text.Append(string.Join(',', r.Select(Quote))).Append("\r\n");
        var path = Bytes.Write(Bytes.TempDir(), "t.csv", text.ToString());
        var read = TextTable.Read(path, TableFormat.Csv).ToList();
        return read.Count == records.Count && read.Zip(records).All(p =>
            p.First.Fields["a"] == p.Second[0] && p.First.Fields["b"] == p.Second[1] && p.First.Fields["c"] == p.Second[2]);
    }

    [Property(MaxTest = 100)]
    public bool TsvAndJsonlRoundTrip((string?, string?)[] rows)
    {
        static string Field(string? s) => "x" + new string(Clean(s).Where(c => c is not ('\t' or '\n' or '\r')).ToArray());
        var records = rows.Select(r => (Text: Field(r.Item1), Label: Field(r.Item2))).ToList();
        if (records.Count == 0) return true;
        var dir = Bytes.TempDir();
        var tsv = Bytes.Write(dir, "t.tsv", "text\tlabel\n" + string.Concat(records.Select(r => $"{r.Text}\t{r.Label}\n")));
        var jsonl = Bytes.Write(dir, "t.jsonl", string.Concat(records.Select(r => JsonSerializer.Serialize(new { text = r.Text, label = r.Label }) + "\n")));
        return new[] { TextTable.Read(tsv, TableFormat.Tsv).ToList(), TextTable.Read(jsonl, TableFormat.Jsonl).ToList() }.All(read =>
            read.Count == records.Count && read.Zip(records).All(p => p.First.Fields["text"] == p.Second.Text && p.First.Fields["label"] == p.Second.Label));
    }

    [Property(MaxTest = 100)]
    public bool ConfigWithinTheLimitsRoundTripsAndValidates(byte heads, byte headDim, byte layers, ushort vocab, byte labels)
    {
        var config = new PoNetConfig
        {
            NumAttentionHeads = 1 + heads % 8, HiddenSize = (1 + heads % 8) * (1 + headDim % 16), NumHiddenLayers = 1 + layers % 4,
            VocabSize = 1 + vocab, IntermediateSize = 1 + headDim, MaxPositionEmbeddings = 1 + vocab % 512,
        };
        config.SetNumLabels(1 + labels % 5);
        var path = Path.Combine(Bytes.TempDir(), "config.json");
        config.Save(path);
        var loaded = PoNetConfig.Load(path);
        return loaded.ToJson() == config.ToJson() && loaded.NumLabels == 1 + labels % 5;
    }
}
