using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using PoNet.Checkpoints;
using PoNet.FineTuning;
using PoNet.Lra;
using PoNet.Lra.Data;
using PoNet.Model;
using Xunit;
using static TorchSharp.torch;

namespace PoNet.Tests.Hardening;

/// <summary>Each class of bad bytes the adversarial review found: one PoNetInputException naming the file and where.</summary>
public class ReaderTests
{
    static PoNetInputException Refused(Action read, string expected, string file)
    {
        var e = Assert.Throws<PoNetInputException>(read);
        Assert.Contains(expected, e.Message);
        Assert.Contains(file, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    const string Tensor8 = "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":";

    [Fact]
    public void SafetensorsHeaderWithInvalidUtf8IsRefusedAtItsByte()
    {
        var header = Encoding.UTF8.GetBytes("{\"a\xff\":{" + Tensor8 + "[0,8]}}");
        header[3] = 0xff; // "a" then a byte that starts no UTF-8 sequence
        var path = Bytes.SafeTensors(Bytes.TempDir(), "", new byte[8], header);
        Refused(() => SafeTensors.ReadHeader(path), "header byte 11: invalid UTF-8", path);
    }

    [Fact]
    public void SafetensorsDuplicateKeyIsRefused()
    {
        var path = Bytes.SafeTensors(Bytes.TempDir(), "{\"a\":{" + Tensor8 + "[0,8]},\"a\":{" + Tensor8 + "[8,16]}}", new byte[16]);
        Refused(() => SafeTensors.ReadHeader(path), "header key 'a' appears twice", path);
    }

    [Fact]
    public void SafetensorsLoneSurrogateKeyIsRefused()
    {
        var path = Bytes.SafeTensors(Bytes.TempDir(), "{\"\\ud800\":{" + Tensor8 + "[0,8]}}", new byte[8]);
        Refused(() => SafeTensors.ReadHeader(path), "corrupt safetensors header", path);
    }

    [Fact]
    public void SafetensorsShapeWhoseByteCountOverflowsIsRefused()
    {
        // 2^62 · 2^62 · 4 wraps around to 0 in 64-bit arithmetic: the old reader accepted it as empty.
        var path = Bytes.SafeTensors(Bytes.TempDir(), "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4611686018427387904],\"data_offsets\":[0,0]}}");
        Refused(() => SafeTensors.ReadHeader(path), "tensor 'a': F32[4611686018427387904, 4611686018427387904] needs more bytes", path);
    }

    [Fact]
    public void SafetensorsOverlappingOffsetsAreRefused()
    {
        var path = Bytes.SafeTensors(Bytes.TempDir(), "{\"a\":{" + Tensor8 + "[0,8]},\"b\":{" + Tensor8 + "[4,12]}}", new byte[12]);
        Refused(() => SafeTensors.ReadHeader(path), "tensor 'b' data_offsets [4, 12] overlap tensor 'a' [0, 8]", path);
    }

    [Theory]
    [InlineData("[8,16]", 16, "bytes 0..8 of the data section belong to no tensor")]
    [InlineData("[0,8]", 12, "the tensors cover 8 bytes but the data section has 12")]
    public void SafetensorsOffsetsMustTileTheDataExactly(string offsets, int dataBytes, string expected)
    {
        var path = Bytes.SafeTensors(Bytes.TempDir(), "{\"a\":{" + Tensor8 + offsets + "}}", new byte[dataBytes]);
        Refused(() => SafeTensors.ReadHeader(path), expected, path);
    }

    [Fact]
    public void SafetensorsWrittenByUsStillRead()
    {
        var path = Path.Combine(Bytes.TempDir(), "ok.safetensors");
        using var a = arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        using var b = zeros(0, 4, dtype: ScalarType.BFloat16);
        using var c = tensor(new long[] { 7 });
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b, ["c"] = c });
        var loaded = SafeTensors.Load(path);
        Assert.True(loaded["a"].equal(a).all().item<bool>());
        Assert.Equal([0L, 4L], loaded["b"].shape);
        Assert.Equal(7L, loaded["c"].item<long>());
    }

    [Fact]
    public void IntegerWeightsForAFloatParameterAreRefusedAndFloatConversionsReported()
    {
        var config = PoNetConfig.Load(Path.Combine(Golden.Dir("cfgA"), "config.json"));
        using var model = new PoNetForMaskedLM(config);
        var state = model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        const string key = "ponet.embeddings.word_embeddings.weight";
        var half = new Dictionary<string, Tensor>(state) { [key] = state[key].to(ScalarType.Float16) };
        var report = PoNetCheckpoint.LoadStateDict(model, half, "half.safetensors");
        Assert.Contains($"{key}: Float16 → Float32", report.Converted);
        Assert.Contains("converted to the model's dtype", report.ToString());

        var ints = new Dictionary<string, Tensor>(state) { [key] = state[key].mul(1e9).to(ScalarType.Int32) };
        var e = Assert.Throws<PoNetInputException>(() => PoNetCheckpoint.LoadStateDict(model, ints, "ints.safetensors"));
        Assert.Contains($"keys of the wrong dtype (1): {key}: checkpoint Int32, model Float32", e.Message);
    }

    [Theory]
    [InlineData("nonstring-key.bin", "state dict key 7 is a Int32, expected a string")]
    [InlineData("storage-out-of-bounds.bin", "tensor 'a.weight' Float32[3, 3] (stride [3, 1], storage offset 2): reaches element 10 but the storage holds only 4")]
    public void CraftedPicklesAreRefusedBeforeLibtorchSeesThem(string file, string expected)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fuzz", "corpus", "pickle", "bad-" + file);
        Refused(() => PoNetCheckpoint.ReadStateDict(path), expected, path);
    }

    [Theory]
    [InlineData("{\"weight_map\": {\"a\": null}}", "weight_map key 'a' names the file null, expected a file name")]
    [InlineData("{\"weight_map\": {}}", "the weight_map is empty")]
    [InlineData("{\"weight_map\": {\"a\": \"../../etc/passwd\"}}", "expected a file inside")]
    [InlineData("[1]", "invalid shard index")]
    public void BadShardIndexesAreRefused(string json, string expected)
    {
        var dir = Bytes.TempDir();
        var path = Bytes.Write(dir, "model.safetensors.index.json", json);
        Refused(() => PoNetCheckpoint.WeightFiles(dir), expected, path);
    }

    [Theory]
    [InlineData("\"vocab_size\": 2000000000", "'vocab_size' = 2000000000: exceeds the limit 10000000")]
    [InlineData("\"intermediate_size\": 2000000000", "'intermediate_size' = 2000000000: exceeds the limit 1048576")]
    [InlineData("\"hidden_size\": 1048576, \"num_attention_heads\": 1", "'hidden_size' = 1048576: exceeds the limit 65536")]
    [InlineData("\"num_hidden_layers\": 1000000", "'num_hidden_layers' = 1000000: exceeds the limit 1024")]
    [InlineData("\"hidden_size\": 65536, \"num_attention_heads\": 1, \"num_hidden_layers\": 1024", "of memory but")]
    [InlineData("\"id2label\": {\"0\": \"pos\", \"1\": \"pos\"}", "'id2label' names \\\"pos\\\" twice (ids 0 and 1)")]
    [InlineData("\"id2label\": {\"0\": \"a\", \"5\": \"b\"}", "'id2label' key \\\"5\\\": expected the ids 0..1, each once")]
    public void ConfigsBeyondTheLimitsAreRefusedBeforeAllocation(string json, string expected)
    {
        var path = Bytes.Write(Bytes.TempDir(), "config.json", "{" + json + "}");
        Refused(() => PoNetConfig.Load(path), expected.Replace("\\\"", "\""), path);
    }

    [Theory]
    [InlineData("table.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"\\ud800\"}\n", "table.jsonl:2: a string escape that is not valid UTF-16")]
    [InlineData("table.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"\xff\"}\n", "table.jsonl:2: invalid UTF-8")]
    [InlineData("table.tsv", "text\tlabel\nfine\t1\nbad \xff\t0\n", "table.tsv:3: invalid UTF-8")]
    [InlineData("table.csv", "text,label\nfine,1\n\"bad \xff\",0\n", "table.csv:3: invalid UTF-8")]
    public void TablesAreStrictUtf8AndStrictJson(string name, string latin1, string expected)
    {
        // The test strings carry single bytes as Latin-1 characters; \xff is then the raw byte 0xFF.
        var path = Bytes.Write(Bytes.TempDir(), name, Encoding.Latin1.GetBytes(latin1));
        Refused(() => TextTable.Read(path, TextTable.FormatOf(path)).ToList(), expected, path);
    }

    [Theory]
    [InlineData(65536 - 1)] // the 3-byte "’" starts one byte before a 64 KiB read boundary
    [InlineData(65536 - 2)]
    [InlineData(2 * 65536 - 1)]
    public void ValidUtf8SplitAcrossReadBuffersIsAccepted(int at)
    {
        // Found on the Hyperpartisan data: a character across the checker's buffer edge was called invalid.
        var bytes = new List<byte>(Encoding.ASCII.GetBytes(new string('a', at)));
        bytes.AddRange(Encoding.UTF8.GetBytes("\u2019 and \U0001F600\n"));
        var path = Bytes.Write(Bytes.TempDir(), "ok.txt", [.. bytes]);
        PoNet.IO.StrictUtf8.Check(path);
        var bad = Bytes.Write(Bytes.TempDir(), "bad.txt", [.. bytes.Take(at + 1), .. "\n\n"u8.ToArray()]); // a cut-off character
        var e = Assert.Throws<PoNetInputException>(() => PoNet.IO.StrictUtf8.Check(bad));
        Assert.Contains("bad.txt:1: invalid UTF-8", e.Message);
    }

    [Fact]
    public void ListOpsFileWithOnlyItsHeaderIsRefused()
    {
        var path = Bytes.Write(Bytes.TempDir(), ListOpsTsv.TrainFile, ListOpsTsv.Header + "\n");
        Refused(() => ListOpsTsv.ReadFile(path), "basic_train.tsv:1: the header but no expressions", path);
    }

    [Theory]
    [InlineData("image")]
    [InlineData("retrieval")]
    [InlineData("listops")]
    public void MissingDataFolderIsRefused(string task)
    {
        var missing = Path.Combine(Bytes.TempDir(), "nope");
        Refused(() => LraTaskData.Load(new LraConfig { Task = task }, missing, Bytes.TempDir(), _ => { }), "--data names no existing", missing);
    }

    [Fact]
    public void GzipBombIdxStopsAtTheDeclaredSize()
    {
        // Header: one 2×2 image (4 bytes), then 64 MiB of zeros that compress to ~64 KiB.
        var raw = new MemoryStream();
        using (var gz = new GZipStream(raw, CompressionLevel.Optimal, leaveOpen: true))
        {
            Span<byte> word = stackalloc byte[4];
            foreach (var v in new[] { IdxFile.ImagesMagic, 1, 2, 2 })
            {
                BinaryPrimitives.WriteInt32BigEndian(word, v);
                gz.Write(word);
            }
            var zeros = new byte[1 << 20];
            for (int i = 0; i < 64; i++) gz.Write(zeros);
        }
        var path = Bytes.Write(Bytes.TempDir(), "images-idx3-ubyte.gz", raw.ToArray());
        var before = GC.GetAllocatedBytesForCurrentThread();
        Refused(() => IdxFile.ReadImages(path), "header announces 1 images of 2×2 (4 bytes), the file has more bytes after the header", path);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 8 << 20, "the reader inflated past the declared size");
    }

    [Fact]
    public void IdxHeaderOverTheLimitIsRefusedBeforeReading()
    {
        var header = new byte[16];
        foreach (var (v, i) in new[] { IdxFile.ImagesMagic, 100_000, 1000, 1000 }.Select((v, i) => (v, i)))
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 * i), v);
        var path = Bytes.Write(Bytes.TempDir(), "images-idx3-ubyte", header);
        Refused(() => IdxFile.ReadImages(path), "over the limit of 2147483583 bytes per IDX file", path);
    }
}

public class FineTuneLengthTests
{
    [Fact]
    public void AnOverLargeMaxLengthIsRefusedBeforeThePositionTableIsTiled()
    {
        var config = PoNetConfig.Load(Path.Combine(Golden.Dir("cfgA"), "config.json"));
        using var table = zeros(config.MaxPositionEmbeddings, config.HiddenSize);
        var weights = new Dictionary<string, Tensor> { [PositionEmbeddingTiling.Key] = table };
        var e = Assert.Throws<PoNetInputException>(() => PositionEmbeddingTiling.Extend(config, weights, 2_000_000_000));
        Assert.Equal("--max-length 2000000000: 'max_position_embeddings' = 2000000000: exceeds the limit 1048576", e.Message);
    }
}
