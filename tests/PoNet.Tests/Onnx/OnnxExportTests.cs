using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using PoNet.Checkpoints;
using PoNet.Export;
using PoNet.Model;
using PoNet.Onnx;
using PoNet.Tests.Lra;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace PoNet.Tests.Onnx;

/// <summary>The exported graph against the libtorch model on inputs the golden files do not have, for every head.</summary>
public class OnnxExportTests
{
    const double HiddenTol = 1e-4, MlmAtol = 1e-3;

    /// <summary>
    /// A batch of a shape no golden batch has, with rows that stress the segment rules: [CLS] A [SEP] B
    /// [SEP] + padding, [CLS][SEP][PAD]…, a full row without [CLS] and with [SEP]s in odd places, and a
    /// row of one real token.
    /// </summary>
    internal static PoNetInputs OddBatch(int vocab, long b = 4, long n = 77, int seed = 3)
    {
        if (b is not (1 or 4)) throw new ArgumentException("rows: 1 or 4");
        var rng = new Random(seed);
        var ids = new long[b * n];
        var mask = new long[b * n];
        var types = new long[b * n];
        long Word() => rng.Next(104, vocab);
        for (int c = 0; c < n; c++)
        {
            // row 0: [CLS] a(20) [SEP] b(30) [SEP] pad
            ids[c] = c == 0 ? 101 : c is 21 or 52 ? 102 : c < 52 ? Word() : 0;
            mask[c] = c <= 52 ? 1 : 0;
            types[c] = c is > 21 and <= 52 ? 1 : 0;
            if (b < 4) continue;
            // row 1: [CLS] [SEP] pad…
            ids[n + c] = c == 0 ? 101 : c == 1 ? 102 : 0;
            mask[n + c] = c <= 1 ? 1 : 0;
            // row 2: no [CLS], [SEP]s at 5, 6 and the end, full length
            ids[2 * n + c] = c is 5 or 6 || c == n - 1 ? 102 : Word();
            mask[2 * n + c] = 1;
            types[2 * n + c] = c > 6 ? 1 : 0;
            // row 3: a single real token
            ids[3 * n + c] = c == 0 ? Word() : 0;
            mask[3 * n + c] = c == 0 ? 1 : 0;
        }
        return new PoNetInputs(tensor(ids, [b, n]), tensor(mask, [b, n]), tensor(types, [b, n]));
    }

    internal static List<NamedOnnxValue> Feeds(PoNetInputs inputs)
    {
        var feeds = new List<NamedOnnxValue>
        {
            OnnxGoldenTests.Input("input_ids", inputs.InputIds),
            OnnxGoldenTests.Input("attention_mask", inputs.AttentionMask!),
            OnnxGoldenTests.Input("token_type_ids", inputs.TokenTypeIds!),
        };
        if (inputs.SegmentIds is not null) feeds.Add(OnnxGoldenTests.Input("segment_ids", inputs.SegmentIds));
        return feeds;
    }

    internal static Dictionary<string, Tensor> RunOnnx(string path, PoNetInputs inputs)
    {
        using var session = new InferenceSession(path);
        using var results = session.Run(Feeds(inputs));
        return results.ToDictionary(r => r.Name, OnnxGoldenTests.ToTorch);
    }

    static void AssertSameAsTorch(PoNetTaskModel model, string onnxPath, PoNetInputs inputs, string head)
    {
        model.eval();
        using var _ = no_grad();
        var expected = model.forward(inputs, null);
        var actual = RunOnnx(onnxPath, inputs);
        Golden.AssertClose(expected.Base.LastHiddenState, actual["last_hidden_state"], HiddenTol, HiddenTol, head + " last_hidden_state");
        if (expected.Base.PoolerOutput is { } pooled) Golden.AssertClose(pooled, actual["pooler_output"], HiddenTol, HiddenTol, head + " pooler_output");
        else Assert.DoesNotContain("pooler_output", actual.Keys);
        if (head == "base") return;
        Golden.AssertClose(expected.Logits, actual["logits"], head == "pretraining" ? MlmAtol : HiddenTol, head == "pretraining" ? 0 : HiddenTol, head + " logits");
        if (expected.SsoLogits is { } sso) Golden.AssertClose(sso, actual["sso_logits"], HiddenTol, HiddenTol, head + " sso_logits");
    }

    [Fact]
    public void UnseenShapeAndSpecialRowsMatchTheTorchModel()
    {
        var (model, _) = PoNetCheckpoint.Load(Golden.Dir("cfgB"), c => new PoNetForPreTraining(c));
        var inputs = OddBatch(1000);
        AssertSameAsTorch(model, OnnxGoldenTests.Exported("cfgB", "pretraining"), inputs, "pretraining");
        // The same batch at batch size 1 and a longer length: both axes are dynamic.
        var one = OddBatch(1000, b: 1, n: 300, seed: 9);
        AssertSameAsTorch(model, OnnxGoldenTests.Exported("cfgB", "pretraining"), one, "pretraining");
        foreach (var batch in new[] { inputs, one })
            AssertSameAsTorch(model, OnnxGoldenTests.Exported("cfgB", "pretraining", SegmentScan.Unrolled), batch, "pretraining (unrolled scan)");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(64)]
    [InlineData(65)]
    public void SegmentsOfEveryLengthNeedNoMoreScanStepsThanTheLoopRuns(int segmentLength)
    {
        // Fixed chunks (as LRA's) of one length: the Loop runs ⌈log2 length⌉ steps, the least that covers a segment.
        var (model, _) = PoNetCheckpoint.Load(Golden.Dir("cfgB"), c => new PoNetForPreTraining(c));
        var inputs = OddBatch(1000, n: 130);
        long n = inputs.InputIds.shape[1];
        var chunks = tensor(Enumerable.Range(0, 4).SelectMany(_ => Enumerable.Range(0, (int)n).Select(c => (long)(c / segmentLength))).ToArray(), [4, n]);
        AssertSameAsTorch(model, OnnxGoldenTests.Exported("cfgB", "pretraining"), inputs with { SegmentIds = chunks }, $"chunks of {segmentLength}");
    }

    [Fact]
    public void GivenSegmentIdsAreUsedAsTheyAre()
    {
        var (model, _) = PoNetCheckpoint.Load(Golden.Dir("cfgB"), c => new PoNetForPreTraining(c));
        var path = OnnxGoldenTests.Exported("cfgB", "pretraining");
        var inputs = OddBatch(1000);
        // The derived ids, given explicitly, change nothing.
        var derived = Segments.FromSpecialTokens(inputs.InputIds, 101, 102);
        var plain = RunOnnx(path, inputs);
        var fed = RunOnnx(path, inputs with { SegmentIds = derived });
        Golden.AssertClose(plain["last_hidden_state"], fed["last_hidden_state"], 0, 0, "derived ids given");
        // Sentence ids with gaps (not compact): the torch model compacts them; the graph looks only at neighbours.
        long n = inputs.InputIds.shape[1];
        var sentences = tensor(Enumerable.Range(0, 4).SelectMany(_ => Enumerable.Range(0, (int)n).Select(c => c / 7 * 3 + 5L)).ToArray(), [4, n]);
        AssertSameAsTorch(model, path, inputs with { SegmentIds = sentences }, "pretraining");
        var changed = RunOnnx(path, inputs with { SegmentIds = sentences });
        Assert.True((changed["last_hidden_state"] - plain["last_hidden_state"]).abs().max().item<float>() > 1e-3,
            "sentence segments must change the outputs (SMP is live)");
    }

    internal static string SaveTiny(Func<PoNetConfig, PoNetTaskModel> create, PoNetConfig config, string dir)
    {
        torch.manual_seed(11);
        var model = create(config);
        // Non-trivial LayerNorms and biases, as the golden weights, so every branch shows.
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
                if (name.EndsWith("bias", StringComparison.Ordinal) || name.Contains("LayerNorm")) p.add_(randn_like(p) * 0.1);
        PoNetCheckpoint.Save(model, dir);
        return dir;
    }

    [Theory]
    [InlineData("base", true)]
    [InlineData("tokencls", true)]
    [InlineData("maskedlm", false)]
    [InlineData("seqcls", false)]
    public void EveryHeadMatchesTheTorchModel(string head, bool clsgsepg)
    {
        using var temp = new TempDir();
        var config = TinyModels.Config(vocab: 150, clsgsepg: clsgsepg);
        config.SetNumLabels(5);
        Func<PoNetConfig, PoNetTaskModel> create = head switch
        {
            "tokencls" => c => new PoNetForTokenClassification(c),
            "seqcls" => c => new PoNetForSequenceClassification(c),
            "maskedlm" => c => new PoNetForMaskedLM(c),
            _ => c => new PoNetForPreTraining(c),
        };
        var dir = SaveTiny(create, config, Path.Combine(temp.Path, "model"));
        var onnx = Path.Combine(temp.Path, "out", "model.onnx");
        var result = PoNetOnnxExporter.Export(dir, onnx, new OnnxExportOptions { Head = PoNetOnnxExporter.ParseHead(head) });
        Assert.Equal(PoNetOnnxExporter.ParseHead(head), result.Head);
        var (model, _) = PoNetCheckpoint.Load(dir, create);
        AssertSameAsTorch(model, onnx, OddBatch(150, n: 50), head);
    }

    [Fact]
    public void ExternalDataAndLaterOpsetsGiveTheSameOutputs()
    {
        using var temp = new TempDir();
        var inputs = OddBatch(1000, n: 40);
        var reference = RunOnnx(OnnxGoldenTests.Exported("cfgB", "pretraining"), inputs);
        var external = Path.Combine(temp.Path, "ext", "model.onnx");
        var result = PoNetOnnxExporter.Export(Golden.Dir("cfgB"), external, new OnnxExportOptions { ExternalDataThreshold = 0 });
        Assert.Equal(external + ".data", result.ExternalDataPath);
        Assert.True(new FileInfo(external).Length < 100_000, "weights must live in the data file");
        Assert.True(new FileInfo(external + ".data").Length > 0.9 * result.WeightBytes);
        var fromExternal = RunOnnx(external, inputs);
        Golden.AssertClose(reference["logits"], fromExternal["logits"], 0, 0, "external data");
        foreach (var opset in new[] { 18, 21 })
        {
            var path = Path.Combine(temp.Path, $"opset{opset}.onnx");
            PoNetOnnxExporter.Export(Golden.Dir("cfgB"), path, new OnnxExportOptions { Opset = opset });
            Golden.AssertClose(reference["last_hidden_state"], RunOnnx(path, inputs)["last_hidden_state"], 1e-6, 1e-6, $"opset {opset}");
        }
        Assert.Empty(Directory.GetFiles(temp.Path, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void TheGraphUsesNoScatterAndOnlyStandardOperators()
    {
        var model = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(OnnxGoldenTests.Exported("cfgB", "pretraining")));
        var ops = model.Graph.Node.Select(n => n.OpType).ToHashSet();
        Assert.DoesNotContain(ops, op => op.StartsWith("Scatter", StringComparison.Ordinal));
        Assert.All(model.Graph.Node, n => Assert.True(string.IsNullOrEmpty(n.Domain), $"{n.Name}: custom domain {n.Domain}"));
        Assert.Contains("MaxPool", ops);
        Assert.Equal(["input_ids", "attention_mask", "token_type_ids", "segment_ids"], model.Graph.Input.Select(i => i.Name));
        Assert.Equal(["last_hidden_state", "pooler_output", "logits", "sso_logits"], model.Graph.Output.Select(o => o.Name));
        foreach (var input in model.Graph.Input.Take(3))
            Assert.Equal(["batch", "sequence"], input.Type.TensorType.Shape.Dim.Select(d => d.DimParam));
    }

    [Fact]
    public void SegmentIdsCanBeARequiredInputOrNone()
    {
        using var temp = new TempDir();
        string Export(SegmentIdsInput mode)
        {
            var path = Path.Combine(temp.Path, $"{mode}.onnx");
            PoNetOnnxExporter.Export(Golden.Dir("cfgB"), path, new OnnxExportOptions { SegmentIds = mode });
            return path;
        }
        var required = Export(SegmentIdsInput.Required);
        var none = Export(SegmentIdsInput.None);
        using (var session = new InferenceSession(required))
        {
            Assert.Equal(["input_ids", "attention_mask", "token_type_ids", "segment_ids"], session.InputMetadata.Keys);
            Assert.Empty(session.OverridableInitializerMetadata);
        }
        using (var session = new InferenceSession(none))
        {
            Assert.Equal(["input_ids", "attention_mask", "token_type_ids"], session.InputMetadata.Keys);
            Assert.Empty(session.OverridableInitializerMetadata);
        }
        foreach (var b in new[] { "b0", "b1", "b2", "b3", "b4" })
        {
            var batch = Golden.Read(Golden.Batch("cfgB", b));
            var plain = new PoNetInputs(batch["input.input_ids"], batch["input.attention_mask"], batch["input.token_type_ids"]);
            // Required: the golden file's given ids, or the ids the reference derived.
            var given = plain with { SegmentIds = batch.GetValueOrDefault("input.segment_ids") ?? batch["derived.segment_index"] };
            Golden.AssertClose(batch["output.last_hidden_state"], RunOnnx(required, given)["last_hidden_state"], HiddenTol, HiddenTol, $"{b} required");
            if (!batch.ContainsKey("input.segment_ids"))
                Golden.AssertClose(batch["output.last_hidden_state"], RunOnnx(none, plain)["last_hidden_state"], HiddenTol, HiddenTol, $"{b} none");
        }
        using var requiredModel = PoNetOnnxModel.Load(required);
        using var noneModel = PoNetOnnxModel.Load(none);
        var good = new PoNetOnnxBatch(1, 3, [101, 7, 102], [1, 1, 1], [0, 0, 0]);
        Assert.Contains("input 'segment_ids' is missing", Assert.Throws<PoNetInputException>(() => requiredModel.Run(good)).Message);
        Assert.Equal([1, 3, 64], requiredModel.Run(good with { SegmentIds = [0, 1, 2] })["last_hidden_state"].Dims);
        Assert.Contains("--segment-ids none", Assert.Throws<PoNetInputException>(() => noneModel.Run(good with { SegmentIds = [0, 1, 2] })).Message);
        Assert.Equal([1, 3, 64], noneModel.Run(good)["last_hidden_state"].Dims);
    }

    [Fact]
    public void TheOnnxLibrariesDoNotReferenceTorchSharp()
    {
        foreach (var assembly in new[] { typeof(PoNetOnnxModel).Assembly, typeof(PoNet.Tokenization.BertTokenizer).Assembly })
            Assert.DoesNotContain(assembly.GetReferencedAssemblies(), a => a.Name!.StartsWith("TorchSharp", StringComparison.Ordinal));
    }

    [Fact]
    public void TheSessionWrapperRefusesBadInput()
    {
        using var model = PoNetOnnxModel.Load(OnnxGoldenTests.Exported("cfgB", "pretraining"), new PoNetOnnxOptions { Threads = 1 });
        Assert.Equal("pretraining", model.Info.Head);
        var good = new PoNetOnnxBatch(1, 3, [101, 7, 102], [1, 1, 1], [0, 0, 0]);
        Assert.Equal([1, 3, 64], model.Run(good)["last_hidden_state"].Dims);

        string Error(Action run) => Assert.Throws<PoNetInputException>(run).Message;
        Assert.Contains("input 'input_ids'[0, 1] = 1000: expected 0 <= id < 1000", Error(() => model.Run(good with { InputIds = [101, 1000, 102] })));
        Assert.Contains("input 'token_type_ids'[0, 2] = 2", Error(() => model.Run(good with { TokenTypeIds = [0, 0, 2] })));
        Assert.Contains("input 'attention_mask'[0, 0] = -1", Error(() => model.Run(good with { AttentionMask = [-1, 1, 1] })));
        Assert.Contains("input 'segment_ids'[0, 2] = 0 after 1", Error(() => model.Run(good with { SegmentIds = [0, 1, 0] })));
        Assert.Contains("4 values for shape [1, 3]", Error(() => model.Run(good with { InputIds = [101, 1, 2, 102] })));
        Assert.Contains("exceeds the model's max_position_embeddings = 512",
            Error(() => model.Run(new PoNetOnnxBatch(1, 513, new long[513], new long[513], new long[513]))));

        var ids = NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(new long[] { 101, 7, 102 }, [1, 3]));
        var mask = NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(new long[] { 1, 1, 1 }, [1, 3]));
        var types = NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[3], [1, 3]));
        var floatTypes = NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<float>(new float[3], [1, 3]));
        var rank3 = NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[3], [1, 3, 1]));
        var int32Ids = NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<int>(new[] { 101, 7, 102 }, [1, 3]));
        Assert.Contains("input 'token_type_ids': expected an int64 tensor", Error(() => model.Run([ids, mask, floatTypes])));
        Assert.Contains("input 'input_ids': expected an int64 tensor", Error(() => model.Run([int32Ids, mask, types])));
        Assert.Contains("input 'token_type_ids': rank 3 [1, 3, 1]", Error(() => model.Run([ids, mask, rank3])));
        Assert.Contains("input 'token_type_ids' is missing", Error(() => model.Run([ids, mask])));
        Assert.Equal([1, 3, 1000], model.Run([ids, mask, types])["logits"].Dims);

        // An execution provider this ONNX Runtime package does not have.
        Assert.Contains("execution provider 'bogus' is not available",
            Error(() => PoNetOnnxModel.Load(OnnxGoldenTests.Exported("cfgB", "pretraining"), new PoNetOnnxOptions { ExecutionProvider = "bogus" })));
    }
}

/// <summary>BERT and FNet checkpoints export too: the same inputs and outputs, HF's layers in standard ONNX ops (FNet's 2-D FFT as two DFTs).</summary>
public class OnnxBertFNetExportTests
{
    [Theory]
    [InlineData("bert", "pretraining", 17)]
    [InlineData("bert", "seqcls", 17)]
    [InlineData("fnet", "pretraining", 17)]
    [InlineData("fnet", "seqcls", 20)]
    public void ExportedBertAndFNetMatchTheTorchModel(string arch, string head, int opset)
    {
        using var temp = new TempDir();
        var config = TinyModels.Config(vocab: 150).WithArchitecture(arch);
        config.SetNumLabels(3);
        Func<PoNetConfig, PoNetTaskModel> create = head == "seqcls" ? c => new PoNetForSequenceClassification(c) : c => new PoNetForPreTraining(c);
        var dir = OnnxExportTests.SaveTiny(create, config, Path.Combine(temp.Path, "model")); // non-trivial LayerNorms and biases
        var onnx = Path.Combine(temp.Path, "out", "model.onnx");
        var result = PoNetOnnxExporter.Export(dir, onnx, new OnnxExportOptions { Head = PoNetOnnxExporter.ParseHead(head), Opset = opset });
        Assert.DoesNotContain(result.Outputs, o => o == "sso_logits");
        var (model, _) = PoNetCheckpoint.Load(dir, create);
        model.eval();
        var inputs = OnnxExportTests.OddBatch(150, n: 50);
        using var _ = no_grad();
        var expected = model.forward(inputs, null);
        var actual = OnnxExportTests.RunOnnx(onnx, inputs);
        using (var session = new InferenceSession(onnx)) Assert.DoesNotContain("segment_ids", session.InputMetadata.Keys);
        Golden.AssertClose(expected.Base.LastHiddenState, actual["last_hidden_state"], 1e-4, 1e-4, $"{arch} last_hidden_state");
        Golden.AssertClose(expected.Base.PoolerOutput!, actual["pooler_output"], 1e-4, 1e-4, $"{arch} pooler_output");
        Golden.AssertClose(expected.Logits, actual["logits"], head == "pretraining" ? 1e-3 : 1e-4, head == "pretraining" ? 0 : 1e-4, $"{arch} logits");
        if (head == "pretraining") Golden.AssertClose(expected.SsoLogits!, actual["nsp_logits"], 1e-4, 1e-4, $"{arch} nsp_logits");
    }
}
