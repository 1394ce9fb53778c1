using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace PoNet.Onnx;

/// <summary>How to run an exported model.</summary>
public sealed record PoNetOnnxOptions
{
    /// <summary>Intra-op threads (null: ONNX Runtime's default, one per physical core).</summary>
    public int? Threads { get; init; }
    /// <summary>cpu (default), cuda, tensorrt, or any other provider name ONNX Runtime's package registers.</summary>
    public string ExecutionProvider { get; init; } = "cpu";
    public int DeviceId { get; init; }
    /// <summary>When set, ONNX Runtime writes a per-operator profile (JSON) with this path prefix; see <see cref="PoNetOnnxModel.EndProfiling"/>.</summary>
    public string? ProfilePrefix { get; init; }
    /// <summary>
    /// Whether idle intra-op threads spin (ONNX Runtime's default: yes). Spinning threads burn the cores
    /// other processes need; on a shared machine false is much faster (as libtorch's OMP_WAIT_POLICY=PASSIVE).
    /// </summary>
    public bool? AllowSpinning { get; init; }
}

/// <summary>What the exporter recorded about the model (metadata <c>ponet.*</c>).</summary>
public sealed record PoNetOnnxInfo(
    string Head, IReadOnlyList<string> Outputs, int HiddenSize, int VocabSize, int TypeVocabSize, int MaxLength,
    int ClsTokenId, int SepTokenId, int PadTokenId, IReadOnlyList<string> Labels, string? ProblemType, bool SentenceSegments)
{
    public bool Regression => ProblemType == "regression" || (ProblemType is null && Labels.Count == 1);
    public bool MultiLabel => ProblemType == "multi_label_classification";
}

/// <summary>One batch: int64 [Batch, Length] row-major arrays, as the graph's inputs.</summary>
public sealed record PoNetOnnxBatch(int Batch, int Length, long[] InputIds, long[] AttentionMask, long[] TokenTypeIds, long[]? SegmentIds = null);

/// <summary>An output tensor: float32 values, row-major, and its dims.</summary>
public sealed record OnnxOutput(float[] Values, int[] Dims);

/// <summary>
/// A PoNet export in an ONNX Runtime <see cref="InferenceSession"/>: refuses files that are not PoNet
/// exports, checks every input (dtype, rank, shape, id ranges) so bad input fails with one line naming
/// the input and position instead of deep inside the runtime.
/// </summary>
public sealed class PoNetOnnxModel : IDisposable
{
    public const string FormatKey = "ponet.format", FormatValue = "ponet-onnx/1";
    static readonly string[] InputNames = ["input_ids", "attention_mask", "token_type_ids", "segment_ids"];

    readonly InferenceSession session;

    public string Path { get; }
    public PoNetOnnxInfo Info { get; }

    /// <summary>Whether the graph takes segment_ids: required (a proper input), optional (an overridable initializer) or not at all.</summary>
    public bool SegmentIdsRequired => session.InputMetadata.ContainsKey("segment_ids");
    public bool SegmentIdsAccepted => SegmentIdsRequired || session.OverridableInitializerMetadata.ContainsKey("segment_ids");

    PoNetOnnxModel(string path, InferenceSession session, PoNetOnnxInfo info)
    {
        Path = path;
        this.session = session;
        Info = info;
    }

    public static PoNetOnnxModel Load(string path, PoNetOnnxOptions? options = null)
    {
        options ??= new PoNetOnnxOptions();
        if (!File.Exists(path)) throw new PoNetInputException($"{path}: ONNX model file not found");
        // Warnings off: ONNX Runtime warns that the optional segment_ids (an overridable initializer) blocks constant folding, which is the point.
        using var sessionOptions = new SessionOptions
        {
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL, InterOpNumThreads = 1, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        if (options.Threads is int threads)
        {
            if (threads < 1) throw new PoNetInputException($"--threads {threads}: expected >= 1");
            sessionOptions.IntraOpNumThreads = threads;
        }
        if (options.AllowSpinning is bool spin)
        {
            sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", spin ? "1" : "0");
            sessionOptions.AddSessionConfigEntry("session.inter_op.allow_spinning", spin ? "1" : "0");
        }
        if (options.ProfilePrefix is { } prefix)
        {
            sessionOptions.ProfileOutputPathPrefix = prefix; // before EnableProfiling, which reads it
            sessionOptions.EnableProfiling = true;
        }
        AddProvider(sessionOptions, options);
        InferenceSession session;
        try
        {
            session = new InferenceSession(path, sessionOptions);
        }
        catch (OnnxRuntimeException e)
        {
            throw new PoNetInputException($"{path}: not an ONNX model ONNX Runtime can load: {FirstLine(e.Message)}", e);
        }
        try
        {
            return new PoNetOnnxModel(path, session, ReadInfo(path, session));
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    static void AddProvider(SessionOptions options, PoNetOnnxOptions o)
    {
        try
        {
            switch (o.ExecutionProvider.ToLowerInvariant())
            {
                case "cpu": break;
                case "cuda": options.AppendExecutionProvider_CUDA(o.DeviceId); break;
                case "tensorrt": options.AppendExecutionProvider_Tensorrt(o.DeviceId); break;
                default: options.AppendExecutionProvider(o.ExecutionProvider, new Dictionary<string, string>()); break;
            }
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or NotSupportedException or ArgumentException)
        {
            throw new PoNetInputException(
                $"execution provider '{o.ExecutionProvider}' is not available in this ONNX Runtime package " +
                $"(available: {string.Join(", ", OrtEnv.Instance().GetAvailableProviders())}): {FirstLine(e.Message)}", e);
        }
    }

    static string FirstLine(string message) => message.Split('\n')[0].Trim();

    static PoNetOnnxInfo ReadInfo(string path, InferenceSession session)
    {
        var meta = session.ModelMetadata.CustomMetadataMap;
        if (!meta.TryGetValue(FormatKey, out var format))
            throw new PoNetInputException($"{path}: not a PoNet export (no '{FormatKey}' metadata); export one with ponet export onnx");
        if (format != FormatValue)
            throw new PoNetInputException($"{path}: metadata '{FormatKey}' = \"{format}\": this version reads \"{FormatValue}\"");
        foreach (var name in InputNames.Take(3))
            if (!session.InputMetadata.ContainsKey(name))
                throw new PoNetInputException($"{path}: the graph has no input '{name}'; not a PoNet export");
        if (!meta.TryGetValue("ponet.config", out var configJson) || !meta.TryGetValue("ponet.head", out var head))
            throw new PoNetInputException($"{path}: metadata 'ponet.config' or 'ponet.head' is missing; not a complete PoNet export");
        try
        {
            using var doc = JsonDocument.Parse(configJson);
            var c = doc.RootElement;
            int Int(string key, int fallback) => c.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : fallback;
            var labels = new List<string>();
            if (c.TryGetProperty("id2label", out var id2label) && id2label.ValueKind == JsonValueKind.Object)
            {
                var map = id2label.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? p.Name);
                for (int i = 0; i < map.Count; i++) labels.Add(map.GetValueOrDefault(i.ToString(System.Globalization.CultureInfo.InvariantCulture)) ?? $"LABEL_{i}");
            }
            string? problem = c.TryGetProperty("problem_type", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
            bool sentences = c.TryGetProperty("sentence_segments", out var s) && s.ValueKind == JsonValueKind.True;
            var outputs = session.OutputMetadata.Keys.ToList();
            return new PoNetOnnxInfo(head, outputs, Int("hidden_size", 768), Int("vocab_size", 30522), Int("type_vocab_size", 2),
                Int("max_position_embeddings", 512), Int("cls_token_id", 101), Int("sep_token_id", 102), Int("pad_token_id", 0),
                labels, problem, sentences);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new PoNetInputException($"{path}: metadata 'ponet.config' is not a valid config: {e.Message}", e);
        }
    }

    /// <summary>Runs a batch and returns the requested outputs (all by default).</summary>
    public Dictionary<string, OnnxOutput> Run(PoNetOnnxBatch batch, IReadOnlyCollection<string>? outputs = null)
    {
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", Dense(batch.InputIds, batch, "input_ids")),
            NamedOnnxValue.CreateFromTensor("attention_mask", Dense(batch.AttentionMask, batch, "attention_mask")),
            NamedOnnxValue.CreateFromTensor("token_type_ids", Dense(batch.TokenTypeIds, batch, "token_type_ids")),
        };
        if (batch.SegmentIds is not null)
            inputs.Add(NamedOnnxValue.CreateFromTensor("segment_ids", Dense(batch.SegmentIds, batch, "segment_ids")));
        return Run(inputs, outputs);
    }

    static DenseTensor<long> Dense(long[] values, PoNetOnnxBatch batch, string name)
    {
        if (batch.Batch < 1 || batch.Length < 1)
            throw new PoNetInputException($"batch shape [{batch.Batch}, {batch.Length}]: expected at least one row of at least one token");
        if (values.Length != (long)batch.Batch * batch.Length)
            throw new PoNetInputException($"{name}: {values.Length} values for shape [{batch.Batch}, {batch.Length}]");
        return new DenseTensor<long>(values, [batch.Batch, batch.Length]);
    }

    /// <summary>Runs named inputs after checking them; outputs are copied out of the runtime's buffers.</summary>
    public Dictionary<string, OnnxOutput> Run(IReadOnlyCollection<NamedOnnxValue> inputs, IReadOnlyCollection<string>? outputs = null)
    {
        Validate(inputs);
        var names = outputs?.ToList() ?? session.OutputMetadata.Keys.ToList();
        foreach (var n in names)
            if (!session.OutputMetadata.ContainsKey(n))
                throw new PoNetInputException($"{Path}: the model has no output '{n}' (it has {string.Join(", ", session.OutputMetadata.Keys)})");
        using var results = session.Run(inputs, names);
        return results.ToDictionary(r => r.Name, r =>
        {
            var t = r.AsTensor<float>();
            return new OnnxOutput(t.ToArray(), t.Dimensions.ToArray());
        });
    }

    void Validate(IReadOnlyCollection<NamedOnnxValue> inputs)
    {
        int[]? shape = null;
        var seen = new HashSet<string>();
        foreach (var input in inputs)
        {
            if (!InputNames.Contains(input.Name))
                throw new PoNetInputException($"input '{input.Name}': unknown; expected {string.Join(", ", InputNames)}");
            if (!seen.Add(input.Name)) throw new PoNetInputException($"input '{input.Name}': given twice");
            if (input.Value is not Tensor<long> t)
                throw new PoNetInputException($"input '{input.Name}': expected an int64 tensor, got {input.Value?.GetType().Name ?? "null"}");
            var dims = t.Dimensions.ToArray();
            if (dims.Length != 2)
                throw new PoNetInputException($"input '{input.Name}': rank {dims.Length} [{string.Join(", ", dims)}]: expected [batch, sequence]");
            if (shape is null) shape = dims;
            else if (!shape.SequenceEqual(dims))
                throw new PoNetInputException($"input '{input.Name}': shape [{string.Join(", ", dims)}] differs from [{string.Join(", ", shape)}] of the other inputs");
        }
        foreach (var required in InputNames.Take(3))
            if (!seen.Contains(required)) throw new PoNetInputException($"input '{required}' is missing");
        if (SegmentIdsRequired && !seen.Contains("segment_ids"))
            throw new PoNetInputException($"input 'segment_ids' is missing ({Path} was exported with --segment-ids required)");
        if (!SegmentIdsAccepted && seen.Contains("segment_ids"))
            throw new PoNetInputException($"input 'segment_ids': {Path} was exported with --segment-ids none and derives segments from [CLS]/[SEP]");
        if (shape![0] < 1 || shape[1] < 1) throw new PoNetInputException($"inputs of shape [{shape[0]}, {shape[1]}]: expected at least one row of at least one token");
        if (shape[1] > Info.MaxLength)
            throw new PoNetInputException($"sequence length {shape[1]} exceeds the model's max_position_embeddings = {Info.MaxLength}");
        foreach (var input in inputs)
        {
            var t = (Tensor<long>)input.Value;
            int n = shape[1];
            (long lo, long hi) = input.Name switch
            {
                "input_ids" => (0L, (long)Info.VocabSize),
                "token_type_ids" => (0L, (long)Info.TypeVocabSize),
                "attention_mask" => (0L, 2L),
                _ => (0L, long.MaxValue),
            };
            int i = 0;
            foreach (var v in t)
            {
                if (v < lo || v >= hi)
                    throw new PoNetInputException($"input '{input.Name}'[{i / n}, {i % n}] = {v}: expected {lo} <= id < {hi}");
                if (input.Name == "segment_ids" && i % n > 0 && v < t.GetValue(i - 1))
                    throw new PoNetInputException(
                        $"input 'segment_ids'[{i / n}, {i % n}] = {v} after {t.GetValue(i - 1)}: expected non-decreasing ids along each row (segments are contiguous runs)");
                i++;
            }
        }
    }

    /// <summary>Stops profiling (<see cref="PoNetOnnxOptions.ProfilePrefix"/>) and returns the profile file's path.</summary>
    public string EndProfiling() => session.EndProfiling();

    public void Dispose() => session.Dispose();
}
