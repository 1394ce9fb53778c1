using PoNet.IO;
using System.Text.Json;
using Google.Protobuf;
using Onnx;
using PoNet.Checkpoints;
using PoNet.Model;
using TorchSharp;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PoNet.Export;

/// <summary>Which outputs the exported graph computes (docs/MODEL.md §3).</summary>
public enum OnnxHead
{
    /// <summary>last_hidden_state, pooler_output.</summary>
    Base,
    /// <summary>+ logits (MLM, [B,N,V]) and sso_logits ([B,3]).</summary>
    PreTraining,
    /// <summary>+ logits (MLM).</summary>
    MaskedLM,
    /// <summary>+ logits ([B,num_labels]).</summary>
    SequenceClassification,
    /// <summary>last_hidden_state + logits ([B,N,num_labels]); no pooler.</summary>
    TokenClassification,
}

/// <summary>How the segmented max scan of segment max-pooling is laid out in the graph.</summary>
public enum SegmentScan
{
    /// <summary>A Loop of ⌈log2 longest segment⌉ steps, computed per batch (one step for LRA's chunks of 2).</summary>
    Loop,
    /// <summary>⌈log2 max_position_embeddings⌉ steps written out: no control flow, the same work for every batch.</summary>
    Unrolled,
}

/// <summary>Whether and how the graph takes <c>segment_ids</c>.</summary>
public enum SegmentIdsInput
{
    /// <summary>An overridable initializer: feed it or not (ONNX Runtime's core and C# API; not onnxruntime-node); derived from [CLS]/[SEP] when not fed.</summary>
    Optional,
    /// <summary>A fourth required input [batch, sequence], used as given (for serving engines and bindings that feed only proper inputs).</summary>
    Required,
    /// <summary>No segment_ids input: always derived from [CLS]/[SEP].</summary>
    None,
}

public sealed record OnnxExportOptions
{
    public SegmentIdsInput SegmentIds { get; init; } = SegmentIdsInput.Optional;
    public SegmentScan SegmentScan { get; init; } = SegmentScan.Loop;
    /// <summary>null: the head of the checkpoint's <c>architectures</c> (base when it names none).</summary>
    public OnnxHead? Head { get; init; }
    public int Opset { get; init; } = PoNetOnnxExporter.DefaultOpset;
    /// <summary>Weights larger than this in all go to an external data file beside the model (protobuf's limit is 2 GiB).</summary>
    public long ExternalDataThreshold { get; init; } = 1L << 30;
}

public sealed record OnnxExportResult(string ModelPath, string? ExternalDataPath, OnnxHead Head, IReadOnlyList<string> Outputs,
    IReadOnlyList<string> TokenizerFiles, long WeightBytes, int Nodes);

/// <summary>
/// Writes a PoNet checkpoint as an ONNX graph in standard operators that ONNX Runtime runs on any
/// provider: the layer of docs/MODEL.md §1 with global aggregation formed from X (as GlobalAggregation),
/// local max-pooling as MaxPool, and segment max-pooling as a log-step segmented max scan (prefix and
/// suffix, ⌈log2 max_position_embeddings⌉ steps each) — no ScatterElements, whose max reduction has no
/// CUDA kernel in ONNX Runtime and is ignored by TensorRT. Segment ids are derived from [CLS]/[SEP]
/// inside the graph (§2) unless the optional <c>segment_ids</c> input is fed; only equality of
/// neighbouring ids matters, so given ids need no compaction.
/// </summary>
public static class PoNetOnnxExporter
{
    public const int DefaultOpset = 17;
    public const int MinOpset = 17; // LayerNormalization
    public const int MaxOpset = 21;
    /// <summary>Written to the model's metadata; PoNet.Onnx refuses files without it.</summary>
    public const string FormatKey = "ponet.format", FormatValue = "ponet-onnx/1";

    static readonly string[] TokenizerFiles = ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

    public static OnnxHead ParseHead(string value) => value switch
    {
        "base" => OnnxHead.Base,
        "pretraining" => OnnxHead.PreTraining,
        "maskedlm" => OnnxHead.MaskedLM,
        "seqcls" => OnnxHead.SequenceClassification,
        "tokencls" => OnnxHead.TokenClassification,
        _ => throw new PoNetInputException($"--head '{value}': expected base, pretraining, maskedlm, seqcls or tokencls"),
    };

    public static string HeadName(OnnxHead head) => head switch
    {
        OnnxHead.Base => "base",
        OnnxHead.PreTraining => "pretraining",
        OnnxHead.MaskedLM => "maskedlm",
        OnnxHead.SequenceClassification => "seqcls",
        _ => "tokencls",
    };

    public static OnnxExportResult Export(string modelDir, string output, OnnxExportOptions? options = null)
    {
        options ??= new OnnxExportOptions();
        if (options.Opset is < MinOpset or > MaxOpset)
            throw new PoNetInputException($"--opset {options.Opset}: expected {MinOpset} to {MaxOpset} (LayerNormalization needs opset 17)");
        if (!Directory.Exists(modelDir)) throw new PoNetInputException($"{modelDir}: model folder not found");
        var configPath = Path.Combine(modelDir, PoNetCheckpoint.ConfigFile);
        var config = PoNetConfig.Load(configPath);
        // PoNet, BERT and FNet (config.Family); segment ids exist only for PoNet.
        if (config.Family != ModelFamily.PoNet) options = options with { SegmentIds = SegmentIdsInput.None };
        var head = options.Head ?? DefaultHead(config, configPath);

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (model, report) = head switch
        {
            OnnxHead.PreTraining or OnnxHead.Base => Load(modelDir, c => new PoNetForPreTraining(c)),
            OnnxHead.MaskedLM => Load(modelDir, c => new PoNetForMaskedLM(c)),
            OnnxHead.SequenceClassification => Load(modelDir, c => new PoNetForSequenceClassification(c)),
            _ => Load(modelDir, c => new PoNetForTokenClassification(c)),
        };
        // A head absent from the checkpoint would be exported with random weights: refuse (the base
        // export needs only the encoder, and drops a pooler the checkpoint lacks).
        var fresh = report.NewlyInitialized;
        var state = model.state_dict();
        var prefix = config.Family.Prefix;
        bool withPooler = state.ContainsKey($"{prefix}.pooler.dense.weight") && !fresh.Any(k => k.StartsWith($"{prefix}.pooler.", StringComparison.Ordinal));
        if (head != OnnxHead.Base && fresh.Count > 0)
            throw new PoNetInputException(
                $"{modelDir}: cannot export --head {HeadName(head)}: the checkpoint has no weights for {string.Join(", ", fresh)}");

        var weights = new Dictionary<string, Tensor>();
        foreach (var (k, v) in state) weights[k] = v.detach().to(ScalarType.Float32).contiguous();
        var builder = new GraphBuilder(config, weights, options.SegmentScan, options.SegmentIds, options.Opset);
        var outputs = builder.Build(head, withPooler);

        var onnx = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "PoNet for .NET",
            ProducerVersion = typeof(PoNetOnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            Domain = "ponet",
            ModelVersion = 1,
            DocString = "PoNet (Pooling Network, ICLR 2022) exported by PoNet for .NET",
            Graph = builder.Graph.Graph,
        };
        onnx.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = options.Opset });
        void Meta(string key, string value) => onnx.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        Meta(FormatKey, FormatValue);
        Meta("ponet.head", HeadName(head));
        Meta("ponet.config", config.ToJson());
        Meta("ponet.outputs", string.Join(",", outputs));
        Meta("ponet.segment_ids", options.SegmentIds.ToString().ToLowerInvariant());
        Meta("ponet.segment_scan", options.SegmentScan == SegmentScan.Loop ? "loop"
            : "unrolled:" + builder.ScanSteps.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var full = Path.GetFullPath(output);
        if (Directory.Exists(full)) throw new PoNetInputException($"{output}: is a folder; expected the path of the .onnx file to write");
        var dir = Path.GetDirectoryName(full)!;
        string? dataPath = null;
        if (builder.Graph.WeightBytes > options.ExternalDataThreshold)
        {
            dataPath = full + ".data";
            var location = Path.GetFileName(dataPath);
            AtomicFile.Write(dataPath, stream =>
            {
                long offset = 0;
                foreach (var t in onnx.Graph.Initializer)
                {
                    if (t.RawData.Length < 1024) continue;
                    var bytes = t.RawData;
                    bytes.WriteTo(stream);
                    t.DataLocation = TensorProto.Types.DataLocation.External;
                    t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
                    t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                    t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                    t.RawData = ByteString.Empty;
                    offset += bytes.Length;
                    // ONNX Runtime memory-maps external data; keep every tensor aligned.
                    var pad = (int)((4096 - offset % 4096) % 4096);
                    stream.Write(new byte[pad]);
                    offset += pad;
                }
            });
        }
        AtomicFile.Write(full, stream => onnx.WriteTo(stream));

        var copied = new List<string>();
        foreach (var name in TokenizerFiles)
        {
            var source = Path.Combine(modelDir, name);
            var target = Path.Combine(dir, name);
            if (!File.Exists(source) || Path.GetFullPath(source) == target) continue;
            var bytes = File.ReadAllBytes(source);
            AtomicFile.Write(target, s => s.Write(bytes));
            copied.Add(target);
        }
        return new OnnxExportResult(full, dataPath, head, outputs, copied, builder.Graph.WeightBytes, onnx.Graph.Node.Count);
    }

    static (PoNetTaskModel, LoadReport) Load<T>(string dir, Func<PoNetConfig, T> create) where T : PoNetTaskModel
    {
        var (model, report) = PoNetCheckpoint.Load(dir, create);
        return (model, report);
    }

    static OnnxHead DefaultHead(PoNetConfig config, string configPath)
    {
        var arch = config.Architectures is { Count: > 0 } a ? a[0] : null;
        var c = config.Family.ClassPrefix;
        return arch switch
        {
            null => OnnxHead.Base,
            _ when arch == c + "Model" => OnnxHead.Base,
            _ when arch == c + "ForPreTraining" => OnnxHead.PreTraining,
            _ when arch == c + "ForMaskedLM" => OnnxHead.MaskedLM,
            _ when arch == c + "ForSequenceClassification" => OnnxHead.SequenceClassification,
            _ when arch == c + "ForTokenClassification" => OnnxHead.TokenClassification,
            _ => throw new PoNetInputException(
                $"{configPath}: 'architectures' = [\"{arch}\"]: unknown architecture; expected {c}Model, {c}ForPreTraining, " +
                $"{c}ForMaskedLM, {c}ForSequenceClassification or {c}ForTokenClassification (or pass --head)"),
        };
    }

    /// <summary>The graph of docs/MODEL.md §1–3 over the state dict's tensors.</summary>
    sealed class GraphBuilder(PoNetConfig config, IReadOnlyDictionary<string, Tensor> weights, SegmentScan scan, SegmentIdsInput segmentIds, int opset)
    {
        readonly string P = config.Family.Prefix;
        readonly bool ponet = config.Family == ModelFamily.PoNet;
        string segments = "", tripCount = "", length = "";
        public OnnxGraph Graph { get; } = new();
        public int ScanSteps { get; private set; }
        readonly int d = config.HiddenSize, heads = config.NumAttentionHeads, dh = config.HiddenSize / config.NumAttentionHeads;

        // Values computed once per forward and shared by every layer.
        string valid3 = "", validRow = "", validRowFlat = "", count = "", additive = "", keepLocal3 = "", notSpecial3 = "";
        readonly List<(long shift, string forwardGate, string backwardGate)> gates = [];

        static float[] Floats(Tensor t) => t.contiguous().data<float>().ToArray();

        Tensor W(string key) => weights.TryGetValue(key, out var t) ? t
            : throw new PoNetInputException($"state dict has no '{key}'");

        /// <summary>A stored-as-is weight ([out,in] Linear weights are transposed by <see cref="Linear"/>).</summary>
        string Init(string key, Tensor? t = null)
        {
            t ??= W(key);
            return Graph.Weight(key, Floats(t), t.shape);
        }

        /// <summary>x·Wᵀ + b with W stored transposed ([in, out]) so MatMul needs no Transpose.</summary>
        string Linear(string x, string prefix, string? weightKey = null, string? biasKey = null)
        {
            var w = W(weightKey ?? prefix + ".weight");
            var wt = Graph.Weight((weightKey ?? prefix + ".weight") + ".T", Floats(w.t()), w.shape[1], w.shape[0]);
            var y = Graph.Node("MatMul", [x, wt]);
            var bk = biasKey ?? prefix + ".bias";
            return weights.ContainsKey(bk) ? Graph.Node("Add", [y, Init(bk)]) : y;
        }

        string LayerNorm(string x, string prefix) =>
            Graph.Node("LayerNormalization", [x, Init(prefix + ".weight"), Init(prefix + ".bias")], "LayerNorm",
                OnnxGraph.Attr("axis", -1L), OnnxGraph.Attr("epsilon", (float)config.LayerNormEps));

        string Gelu(string x)
        {
            // exact erf GELU: x · 0.5 · (1 + erf(x / √2)), as torch's default
            var e = Graph.Node("Erf", [Graph.Node("Div", [x, Graph.Float(MathF.Sqrt(2f))])]);
            return Graph.Node("Mul", [Graph.Node("Mul", [x, Graph.Float(0.5f)]), Graph.Node("Add", [e, Graph.Float(1f)])]);
        }

        /// <summary>The config's hidden_act: "gelu" (erf) or "gelu_new" (HF's tanh approximation, FNet's default).</summary>
        string Activation(string x)
        {
            if (config.HiddenAct != "gelu_new") return Gelu(x);
            // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
            var cube = Graph.Node("Mul", [Graph.Node("Mul", [x, x]), x]);
            var inner = Graph.Node("Mul", [Graph.Node("Add", [x, Graph.Node("Mul", [cube, Graph.Float(0.044715f)])]), Graph.Float(MathF.Sqrt(2f / MathF.PI))]);
            return Graph.Node("Mul", [Graph.Node("Mul", [x, Graph.Float(0.5f)]), Graph.Node("Add", [Graph.Node("Tanh", [inner]), Graph.Float(1f)])]);
        }

        string Unsqueeze(string x, long axis) => Graph.Node("Unsqueeze", [x, Graph.Int64(axis)]);

        string Where(string condition, string x, string y) => Graph.Node("Where", [condition, x, y]);

        /// <summary>x shifted along axis 1 by <paramref name="shift"/> (&gt; 0: x[l−s]; &lt; 0: x[l+|s|]), filled with <paramref name="fill"/>.</summary>
        string Shift(string x, long shift, string fill, int rank, string length)
        {
            long s = Math.Abs(shift);
            var pads = new long[2 * rank];
            if (shift > 0) pads[1] = s; else pads[rank + 1] = s;
            var padded = Graph.Node("Pad", [x, Graph.Int64(pads), fill]);
            var start = shift > 0 ? Graph.Int64(0) : Graph.Int64(s);
            var end = shift > 0 ? length : Graph.Node("Add", [length, Graph.Int64(s)]);
            return Graph.Node("Slice", [padded, start, end, Graph.Int64(1)]);
        }

        public List<string> Build(OnnxHead head, bool withPooler)
        {
            var g = Graph.Graph;
            g.Input.Add(OnnxGraph.Value("input_ids", DataType.Int64, "batch", "sequence"));
            g.Input.Add(OnnxGraph.Value("attention_mask", DataType.Int64, "batch", "sequence"));
            g.Input.Add(OnnxGraph.Value("token_type_ids", DataType.Int64, "batch", "sequence"));
            if (segmentIds == SegmentIdsInput.Required)
                g.Input.Add(OnnxGraph.Value("segment_ids", DataType.Int64, "batch", "sequence"));
            else if (segmentIds == SegmentIdsInput.Optional)
            {
                // An input with a default initializer ([[0]], shape [1,1]) that callers may override. ONNX
                // Runtime's core accepts the override (tested through its C# API); bindings that feed only
                // proper inputs (onnxruntime-node 1.30 lists three) drop it silently: export Required for those.
                g.Input.Add(OnnxGraph.Value("segment_ids", DataType.Int64, "segment_batch", "segment_sequence"));
                var defaultSeg = new TensorProto { Name = "segment_ids", DataType = (int)DataType.Int64 };
                defaultSeg.Dims.AddRange([1, 1]);
                defaultSeg.Int64Data.Add(0);
                g.Initializer.Add(defaultSeg);
            }

            var shape = Graph.Node("Shape", ["input_ids"]);
            length = Graph.Node("Slice", [shape, Graph.Int64(1), Graph.Int64(2), Graph.Int64(0)], "sequence_length"); // [1]

            // Masks (docs/MODEL.md §1): valid, the additive −10000 score mask, the valid count.
            var valid2 = Graph.Node("Not", [Graph.Node("Equal", ["attention_mask", Graph.Int64Scalar(0)])], "valid");
            valid3 = Unsqueeze(valid2, 2);
            var validF = Graph.Node("Cast", [valid2], "valid_float", OnnxGraph.Attr("to", (long)DataType.Float));
            validRowFlat = validF;                                                                          // [B,N]
            validRow = Unsqueeze(validF, 1);                                                                 // [B,1,N]
            var sum = Graph.Node("ReduceSum", [validF, Graph.Int64(1)], null, OnnxGraph.Attr("keepdims", 1L)); // [B,1]
            count = Unsqueeze(Graph.Node("Max", [sum, Graph.Float(1f)]), 2);                                 // [B,1,1]
            additive = Unsqueeze(Graph.Node("Mul", [Graph.Node("Sub", [Graph.Float(1f), validF]), Graph.Float(-10000f)]), 2); // [B,N,1]

            if (ponet) BuildSegments(shape);


            // Embeddings (§3).
            var positions = Graph.Node("Range", [Graph.Int64Scalar(0), Graph.Node("Squeeze", [length, Graph.Int64(0)]), Graph.Int64Scalar(1)], "positions");
            var x = Graph.Node("Add", [
                Graph.Node("Add", [
                    Graph.Node("Gather", [Init($"{P}.embeddings.word_embeddings.weight"), "input_ids"]),
                    Graph.Node("Gather", [Init($"{P}.embeddings.position_embeddings.weight"), positions])]),
                Graph.Node("Gather", [Init($"{P}.embeddings.token_type_embeddings.weight"), "token_type_ids"])]);
            x = LayerNorm(x, $"{P}.embeddings.LayerNorm");
            if (config.Family.EmbeddingProjection) x = Linear(x, $"{P}.embeddings.projection");

            for (int i = 0; i < config.NumHiddenLayers; i++)
                x = config.Family.Mixer switch
                {
                    Model.Mixers.MixerKind.Transformer => BertLayer(x, $"{P}.encoder.layer.{i}"),
                    Model.Mixers.MixerKind.FNet => FNetLayer(x, $"{P}.encoder.layer.{i}"),
                    _ => Layer(x, $"{P}.encoder.layer.{i}", length),
                };

            var outputs = new List<string>();
            void Output(string value, string name, params object[] dims)
            {
                Graph.NamedNode("Identity", [value], name);
                g.Output.Add(OnnxGraph.Value(name, DataType.Float, dims));
                outputs.Add(name);
            }
            Output(x, "last_hidden_state", "batch", "sequence", d);
            string? pooled = null;
            if (withPooler)
            {
                var first = Graph.Node("Gather", [x, Graph.Int64Scalar(0)], null, OnnxGraph.Attr("axis", 1L)); // [B,D]
                pooled = Graph.Node("Tanh", [Linear(first, $"{P}.pooler.dense")]);
                Output(pooled, "pooler_output", "batch", d);
            }
            switch (head)
            {
                case OnnxHead.PreTraining or OnnxHead.MaskedLM:
                    Output(MlmLogits(x), "logits", "batch", "sequence", config.VocabSize);
                    if (head == OnnxHead.PreTraining)
                        Output(Linear(pooled!, "cls.seq_relationship"), $"{config.Family.SentenceObjective}_logits", "batch", config.Family.SentenceClasses);
                    break;
                case OnnxHead.SequenceClassification:
                    Output(Linear(pooled!, "classifier"), "logits", "batch", config.NumLabels);
                    break;
                case OnnxHead.TokenClassification:
                    Output(Linear(x, "classifier"), "logits", "batch", "sequence", config.NumLabels);
                    break;
            }
            return outputs;
        }

        /// <summary>PoNet only: special tokens, segments (derived or given) and the scan's gates or trip count.</summary>
        void BuildSegments(string shape)
        {
                // [CLS]/[SEP] and derived segments (§2): seg = cumsum(special_l + special_(l−1)), up to a per-row constant.
                var special2 = Graph.Node("Or", [
                    Graph.Node("Equal", ["input_ids", Graph.Int64Scalar(config.ClsTokenId)]),
                    Graph.Node("Equal", ["input_ids", Graph.Int64Scalar(config.SepTokenId)])], "special");
                var specialI = Graph.Node("Cast", [special2], null, OnnxGraph.Attr("to", (long)DataType.Int64));
                var derived = Graph.Node("CumSum", [Graph.Node("Add", [specialI, Shift(specialI, 1, Graph.Int64Scalar(0), 2, length)]), Graph.Int64Scalar(1)], "derived_segments");
                if (segmentIds == SegmentIdsInput.None) segments = derived;
                else
                {
                    // Given ids: a new segment wherever an id differs from its left neighbour.
                    var seg = segmentIds == SegmentIdsInput.Required ? "segment_ids" : Graph.Node("Expand", ["segment_ids", shape]);
                    var changed = Graph.Node("Not", [Graph.Node("Equal", [seg, Shift(seg, 1, Graph.Int64Scalar(long.MinValue), 2, length)])]);
                    var changedI = Graph.Node("Cast", [changed], null, OnnxGraph.Attr("to", (long)DataType.Int64));
                    // The first position always "changes" (its left neighbour is the fill): harmless, a constant per row.
                    var given = Graph.Node("CumSum", [changedI, Graph.Int64Scalar(1)], "given_segments");
                    if (segmentIds == SegmentIdsInput.Required) segments = given;
                    else
                    {
                        var fed = Graph.Node("Greater", [Graph.Node("Size", ["segment_ids"]), Graph.Int64Scalar(1)], "segment_ids_fed");
                        segments = Where(fed, given, derived);
                    }
                }

                if (config.ClsGSepG)
                {
                    notSpecial3 = Unsqueeze(Graph.Node("Not", [special2]), 2);
                    keepLocal3 = Graph.Node("And", [valid3, notSpecial3]);
                }
                else keepLocal3 = valid3;

                // Gates of the segmented max scan: 0 where the neighbour at distance s is in the same segment, −inf elsewhere.
                var zero = Graph.Float(0f);
                var negInf = Graph.Float(float.NegativeInfinity);
                var noSegment = Graph.Int64Scalar(-1);
                if (scan == SegmentScan.Unrolled)
                {
                    for (long s = 1; s < config.MaxPositionEmbeddings; s *= 2)
                    {
                        string Gate(long shift) => Unsqueeze(Where(Graph.Node("Equal", [segments, Shift(segments, shift, noSegment, 2, length)]), zero, negInf), 2);
                        gates.Add((s, Gate(s), Gate(-s)));
                    }
                    ScanSteps = gates.Count;
                }
                else tripCount = ScanTripCount();
        }

        /// <summary>
        /// ⌈log2 L⌉ for the longest segment L of the batch: the boundary positions sorted (TopK, descending),
        /// each segment's length the gap to the next boundary (or to N).
        /// </summary>
        string ScanTripCount()
        {
            var boundary = Graph.Node("Not", [Graph.Node("Equal", [segments, Shift(segments, 1, Graph.Int64Scalar(-1), 2, length)])]);
            var n = Graph.Node("Squeeze", [length, Graph.Int64(0)]);
            var positions = Graph.Node("Cast", [Graph.Node("Range", [Graph.Int64Scalar(0), n, Graph.Int64Scalar(1)])], null,
                OnnxGraph.Attr("to", (long)DataType.Float));
            var starts = Where(boundary, positions, Graph.Float(-1f));                                             // [B,N]
            var sorted = Graph.Nodes("TopK", [starts, length], 2, null, OnnxGraph.Attr("axis", 1L),
                OnnxGraph.Attr("largest", 1L), OnnxGraph.Attr("sorted", 1L))[0];                                    // descending
            var nF = Graph.Node("Cast", [n], null, OnnxGraph.Attr("to", (long)DataType.Float));
            var next = Shift(sorted, 1, nF, 2, length);                                                             // the next start, or N
            var lengths = Where(Graph.Node("Less", [sorted, Graph.Float(0f)]), Graph.Float(0f), Graph.Node("Sub", [next, sorted]));
            var longest = Graph.Node("Max", [Graph.Node("ReduceMax", [lengths], null, OnnxGraph.Attr("keepdims", 0L)), Graph.Float(1f)]);
            // log2 of a power of two may land a hair above the integer: take 1e-3 off before Ceil (never a step too few).
            var log2 = Graph.Node("Div", [Graph.Node("Log", [longest]), Graph.Float(MathF.Log(2f))]);
            var steps = Graph.Node("Ceil", [Graph.Node("Sub", [log2, Graph.Float(1e-3f)])]);
            return Graph.Node("Cast", [Graph.Node("Max", [steps, Graph.Float(0f)])], "scan_steps", OnnxGraph.Attr("to", (long)DataType.Int64));
        }

        /// <summary>The segmented max scan as a Loop: each step doubles the shift; prefix (left) and suffix (right) maxima.</summary>
        (string prefix, string suffix) ScanLoop(string s0)
        {
            var body = Graph.Subgraph("segment_scan", g =>
            {
                g.Input.Add(OnnxGraph.Value("scan_iter", DataType.Int64));
                g.Input.Add(OnnxGraph.Value("scan_cond", DataType.Bool));
                g.Input.Add(OnnxGraph.AnyShape("scan_shift", DataType.Int64));
                g.Input.Add(OnnxGraph.AnyShape("scan_prefix", DataType.Float));
                g.Input.Add(OnnxGraph.AnyShape("scan_suffix", DataType.Float));
                var shift = "scan_shift";                                                                  // [1]
                var zero1 = Graph.Int64(0);
                var negInf = Graph.Float(float.NegativeInfinity);
                string Pads(params string[] parts) => Graph.Node("Concat", parts, null, OnnxGraph.Attr("axis", 0L));
                string Gate(string shiftedKeys) =>
                    Unsqueeze(Where(Graph.Node("Equal", [segments, shiftedKeys]), Graph.Float(0f), negInf), 2);
                var end = Graph.Node("Add", [length, shift]);
                // Left neighbours at distance s: pad s in front, keep the first N.
                var keysLeft = Graph.Node("Slice", [Graph.Node("Pad", [segments, Pads(zero1, shift, Graph.Int64(0, 0)), Graph.Int64Scalar(-1)]), Graph.Int64(0), length, Graph.Int64(1)]);
                var left = Graph.Node("Slice", [Graph.Node("Pad", ["scan_prefix", Pads(zero1, shift, Graph.Int64(0, 0, 0, 0)), negInf]), Graph.Int64(0), length, Graph.Int64(1)]);
                var prefix = Graph.Node("Max", ["scan_prefix", Graph.Node("Add", [left, Gate(keysLeft)])]);
                // Right neighbours: pad s behind, drop the first s.
                var keysRight = Graph.Node("Slice", [Graph.Node("Pad", [segments, Pads(Graph.Int64(0, 0, 0), shift), Graph.Int64Scalar(-1)]), shift, end, Graph.Int64(1)]);
                var right = Graph.Node("Slice", [Graph.Node("Pad", ["scan_suffix", Pads(Graph.Int64(0, 0, 0, 0), shift, zero1), negInf]), shift, end, Graph.Int64(1)]);
                var suffix = Graph.Node("Max", ["scan_suffix", Graph.Node("Add", [right, Gate(keysRight)])]);
                Graph.NamedNode("Identity", ["scan_cond"], "scan_cond_out");
                Graph.NamedNode("Mul", [shift, Graph.Int64(2)], "scan_shift_out");
                Graph.NamedNode("Identity", [prefix], "scan_prefix_out");
                Graph.NamedNode("Identity", [suffix], "scan_suffix_out");
                g.Output.Add(OnnxGraph.Value("scan_cond_out", DataType.Bool));
                g.Output.Add(OnnxGraph.AnyShape("scan_shift_out", DataType.Int64));
                g.Output.Add(OnnxGraph.AnyShape("scan_prefix_out", DataType.Float));
                g.Output.Add(OnnxGraph.AnyShape("scan_suffix_out", DataType.Float));
            });
            var outs = Graph.Nodes("Loop", [tripCount, "", Graph.Int64(1), s0, s0], 3, "segment_scan_loop", OnnxGraph.Attr("body", body));
            return (outs[1], outs[2]);
        }

        string MlmLogits(string x)
        {
            var h = LayerNorm(Activation(Linear(x, "cls.predictions.transform.dense")), "cls.predictions.transform.LayerNorm");
            var decoderKey = weights.ContainsKey("cls.predictions.decoder.weight") ? "cls.predictions.decoder.weight" : $"{P}.embeddings.word_embeddings.weight";
            return Linear(h, "cls.predictions", decoderKey, "cls.predictions.bias");
        }

        string Layer(string x, string prefix, string length)
        {
            var p = prefix + ".attention.self.";
            // L0, S0 and O as one D×3D product, as the torch mixer.
            var w3 = cat([W(p + "dense_local.weight"), W(p + "dense_segment.weight"), W(p + "dense_o.weight")], 0);
            var b3 = cat([W(p + "dense_local.bias"), W(p + "dense_segment.bias"), W(p + "dense_o.bias")], 0);
            var lso = Graph.Node("Add", [
                Graph.Node("MatMul", [x, Graph.Weight(p + "dense_local_segment_o.weight.T", Floats(w3.t()), d, 3 * d)]),
                Graph.Weight(p + "dense_local_segment_o.bias", Floats(b3), 3 * d)]);
            var parts = Graph.Nodes("Split", [lso, Graph.Int64(d, d, d)], 3, null, OnnxGraph.Attr("axis", 2L));
            string local = parts[0], segment = parts[1], o = parts[2];

            var g2 = GlobalAggregation(x, p);

            // Segment max-pooling: a segmented max scan to the left and to the right; their max is the segment's max.
            var s0 = Where(valid3, segment, Graph.Float(-10000f));
            string prefixMax = s0, suffixMax = s0;
            var negInf = Graph.Float(float.NegativeInfinity);
            if (scan == SegmentScan.Loop) (prefixMax, suffixMax) = ScanLoop(s0);
            foreach (var (shift, forwardGate, backwardGate) in gates)
            {
                prefixMax = Graph.Node("Max", [prefixMax, Graph.Node("Add", [Shift(prefixMax, shift, negInf, 3, length), forwardGate])]);
                suffixMax = Graph.Node("Max", [suffixMax, Graph.Node("Add", [Shift(suffixMax, -shift, negInf, 3, length), backwardGate])]);
            }
            var s = Graph.Node("Max", [prefixMax, suffixMax], "segment_max");

            // Local max-pooling, window 3: MaxPool's padding never wins, so outside neighbours are ignored.
            var l0 = Where(keepLocal3, local, Graph.Float(-10000f));
            var pooledL = Graph.Node("MaxPool", [Graph.Node("Transpose", [l0], null, OnnxGraph.Attr("perm", new long[] { 0, 2, 1 }))], "local_max",
                OnnxGraph.Attr("kernel_shape", new long[] { 3 }), OnnxGraph.Attr("pads", new long[] { 1, 1 }), OnnxGraph.Attr("strides", new long[] { 1 }));
            var l = Graph.Node("Transpose", [pooledL], null, OnnxGraph.Attr("perm", new long[] { 0, 2, 1 }));

            if (config.ClsGSepG)
            {
                var zero = Graph.Float(0f);
                s = Where(notSpecial3, s, zero);
                l = Where(notSpecial3, l, zero);
            }
            // Pooling fusion, padding zeroed.
            var y = Where(valid3, Graph.Node("Add", [Graph.Node("Mul", [Graph.Node("Add", [g2, s]), o]), l]), Graph.Float(0f));

            var a = LayerNorm(Graph.Node("Add", [Linear(y, prefix + ".attention.output.dense"), x]), prefix + ".attention.output.LayerNorm");
            var h = Gelu(Linear(a, prefix + ".intermediate.dense"));
            return LayerNorm(Graph.Node("Add", [Linear(h, prefix + ".output.dense"), a]), prefix + ".output.LayerNorm");
        }

        /// <summary>HF's BertLayer (docs/MODEL.md §8): softmax attention with the additive (1 − mask)·float.MinValue, then the output blocks.</summary>
        string BertLayer(string x, string prefix)
        {
            var p = prefix + ".attention.self.";
            string Heads(string t) => Graph.Node("Transpose", [Graph.Node("Reshape", [t, Graph.Int64(0, 0, heads, dh)])], null,
                OnnxGraph.Attr("perm", new long[] { 0, 2, 1, 3 }));                                        // [B,H,N,dh]
            var q = Heads(Graph.Node("Div", [Linear(x, p + "query"), Graph.Float(MathF.Sqrt(dh))]));
            var k = Heads(Linear(x, p + "key"));
            var v = Heads(Linear(x, p + "value"));
            var scores = Graph.Node("MatMul", [q, Graph.Node("Transpose", [k], null, OnnxGraph.Attr("perm", new long[] { 0, 1, 3, 2 }))]);
            var maskAdd = Unsqueeze(Unsqueeze(Graph.Node("Mul", [Graph.Node("Sub", [Graph.Float(1f), validRowFlat]), Graph.Float(float.MinValue)]), 1), 1); // [B,1,1,N]
            var probs = Graph.Node("Softmax", [Graph.Node("Add", [scores, maskAdd])], null, OnnxGraph.Attr("axis", -1L));
            var context = Graph.Node("Reshape", [Graph.Node("Transpose", [Graph.Node("MatMul", [probs, v])], null, OnnxGraph.Attr("perm", new long[] { 0, 2, 1, 3 })),
                Graph.Int64(0, 0, d)]);
            var a = LayerNorm(Graph.Node("Add", [Linear(context, prefix + ".attention.output.dense"), x]), prefix + ".attention.output.LayerNorm");
            var h = Activation(Linear(a, prefix + ".intermediate.dense"));
            return LayerNorm(Graph.Node("Add", [Linear(h, prefix + ".output.dense"), a]), prefix + ".output.LayerNorm");
        }

        /// <summary>HF's FNetLayer (docs/MODEL.md §9): LayerNorm(Re(FFT2(x)) + x) over sequence and hidden, no mask; then the feed-forward block.</summary>
        string FNetLayer(string x, string prefix)
        {
            var complexInput = Unsqueeze(x, 3);                                                              // [B,N,D,1] real
            string Dft(string t, long axis) => opset >= 20
                ? Graph.Node("DFT", [t, "", Graph.Int64Scalar(axis)])
                : Graph.Node("DFT", [t], null, OnnxGraph.Attr("axis", axis));
            var spectrum = Dft(Dft(complexInput, 2), 1);                                                     // [B,N,D,2]
            var real = Graph.Node("Gather", [spectrum, Graph.Int64Scalar(0)], null, OnnxGraph.Attr("axis", 3L)); // [B,N,D]
            var a = LayerNorm(Graph.Node("Add", [real, x]), prefix + ".fourier.output.LayerNorm");
            var h = Activation(Linear(a, prefix + ".intermediate.dense"));
            return LayerNorm(Graph.Node("Add", [Linear(h, prefix + ".output.dense"), a]), prefix + ".output.LayerNorm");
        }

        /// <summary>As <see cref="Model.GlobalAggregation.FromX"/>: g = mean(X)·W_qᵀ + b_q; scores X·(W_khᵀ g_h)/√dh; Σ p·K = (Σ p·X)·W_khᵀ + b_k.</summary>
        string GlobalAggregation(string x, string p)
        {
            var mean = Graph.Node("Div", [Graph.Node("MatMul", [validRow, x]), count]);                     // [B,1,D]
            var q = Linear(mean, p + "dense_q");                                                              // [B,1,D]
            var gh = Graph.Node("Reshape", [q, Graph.Int64(0, heads, 1, dh)]);                                 // [B,H,1,dh]
            var wk = W(p + "dense_k.weight").view(heads, dh, d);
            var wkHeads = Graph.Weight(p + "dense_k.weight.heads", Floats(wk), heads, dh, d);                  // [H,dh,D]
            var wkHeadsT = Graph.Weight(p + "dense_k.weight.heads.T", Floats(wk.transpose(1, 2)), heads, d, dh); // [H,D,dh]
            var u = Graph.Node("Div", [Graph.Node("Reshape", [Graph.Node("MatMul", [gh, wkHeads]), Graph.Int64(0, heads, d)]),
                Graph.Float((float)Math.Sqrt(dh))]);                                                            // [B,H,D]
            var scores = Graph.Node("Add", [Graph.Node("MatMul", [x, Graph.Node("Transpose", [u], null, OnnxGraph.Attr("perm", new long[] { 0, 2, 1 }))]), additive]); // [B,N,H]
            var probs = Graph.Node("Softmax", [scores], null, OnnxGraph.Attr("axis", 1L));
            var z = Graph.Node("MatMul", [Graph.Node("Transpose", [probs], null, OnnxGraph.Attr("perm", new long[] { 0, 2, 1 })), x]); // [B,H,D]
            var k = Graph.Node("MatMul", [Unsqueeze(z, 2), wkHeadsT]);                                         // [B,H,1,dh]
            return Graph.Node("Add", [Graph.Node("Reshape", [k, Graph.Int64(0, 1, d)]), Init(p + "dense_k.bias")]); // [B,1,D]
        }
    }
}
