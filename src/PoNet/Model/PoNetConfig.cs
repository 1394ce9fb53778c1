using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using PoNet.IO;
using PoNet.Model.Mixers;

namespace PoNet.Model;

/// <summary>
/// Every hyperparameter of a model in HuggingFace layout, in <c>config.json</c> form (docs/MODEL.md §3):
/// PoNet's config, and HF's BertConfig and FNetConfig by <see cref="ModelType"/> (see <see cref="ModelFamily"/>).
/// Keys this class does not know are kept in <see cref="Extra"/> and written back on save, so a
/// config round-trips through C# unchanged.
/// </summary>
public sealed class PoNetConfig
{
    [JsonPropertyName("vocab_size")] public int VocabSize { get; set; } = 30522;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; } = 768;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; set; } = 12;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; set; } = 12;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; set; } = 3072;
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; set; } = "gelu";
    [JsonPropertyName("hidden_dropout_prob")] public double HiddenDropoutProb { get; set; } = 0.1;
    /// <summary>Present in the reference config but unused by PoNet (there is no attention matrix).</summary>
    [JsonPropertyName("attention_probs_dropout_prob")] public double AttentionProbsDropoutProb { get; set; } = 0.1;
    /// <summary>FNet only: HF computes the same DFT by matrix products on TPUs; here always by FFT.</summary>
    [JsonPropertyName("use_tpu_fourier_optimizations")] public bool? UseTpuFourierOptimizations { get; set; }
    /// <summary>FNet only, with <see cref="UseTpuFourierOptimizations"/>; kept for round-trips.</summary>
    [JsonPropertyName("tpu_short_seq_length")] public int? TpuShortSeqLength { get; set; }
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; set; } = 512;
    [JsonPropertyName("type_vocab_size")] public int TypeVocabSize { get; set; } = 2;
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; set; } = 0.02;
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; set; } = 1e-12;
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; set; } = 0;
    [JsonPropertyName("position_embedding_type")] public string PositionEmbeddingType { get; set; } = "absolute";
    /// <summary>[CLS]/[SEP] neither give nor receive segment or local information (docs/MODEL.md §1).</summary>
    [JsonPropertyName("clsgsepg")] public bool ClsGSepG { get; set; } = true;
    [JsonPropertyName("classifier_dropout"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public double? ClassifierDropout { get; set; }
    [JsonPropertyName("model_type")] public string ModelType { get; set; } = "ponet";
    [JsonPropertyName("architectures")] public List<string>? Architectures { get; set; }
    /// <summary>The reference hard-codes bert-base-uncased's 101/102; we read them from the config.</summary>
    [JsonPropertyName("cls_token_id")] public int ClsTokenId { get; set; } = 101;
    [JsonPropertyName("sep_token_id")] public int SepTokenId { get; set; } = 102;
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; set; } = true;
    [JsonPropertyName("id2label")] public Dictionary<string, string>? Id2Label { get; set; }
    [JsonPropertyName("label2id")] public Dictionary<string, int>? Label2Id { get; set; }
    /// <summary>"single_label_classification", "multi_label_classification" or "regression" (HF).</summary>
    [JsonPropertyName("problem_type")] public string? ProblemType { get; set; }
    /// <summary>
    /// Not HF: set by fine-tuning when the model was trained with one segment per sentence (long
    /// documents, docs/MODEL.md §2.2) rather than segments from [CLS]/[SEP], so inference encodes texts the same way.
    /// </summary>
    [JsonPropertyName("sentence_segments")] public bool? SentenceSegments { get; set; }

    /// <summary>Keys we do not interpret (auto_map, torch_dtype, transformers_version, …): kept as they were.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    [JsonIgnore] public int NumLabels => Id2Label?.Count ?? 2;
    [JsonIgnore] public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>The architecture <see cref="ModelType"/> names.</summary>
    [JsonIgnore] public ModelFamily Family => ModelFamily.For(ModelType);

    /// <summary>
    /// The mixer of every layer in the pretrained layout: no output projection (the layer's
    /// attention.output.dense is one), clsgsepg for PoNet, attention-probability dropout for BERT,
    /// FNet without a mask as HF computes it (FNet ignores the heads).
    /// </summary>
    [JsonIgnore] public MixerSpec MixerSpec => new(Family.Mixer, HiddenSize, NumAttentionHeads)
    {
        // clsgsepg is PoNet's key; a BERT/FNet config.json has none (and its default, true, means nothing there).
        ClsGSepG = ModelType == ModelFamily.PoNet.ModelType && ClsGSepG,
        Attention = AttentionKernel.Explicit,
        AttentionDropout = AttentionProbsDropoutProb,
        FourierZeroesPads = false,
    };

    /// <summary>Sets the label count the way HF does: id2label = LABEL_0..LABEL_{n-1}.</summary>
    public void SetNumLabels(int n)
    {
        Id2Label = Enumerable.Range(0, n).ToDictionary(i => i.ToString(), i => $"LABEL_{i}");
        Label2Id = Enumerable.Range(0, n).ToDictionary(i => $"LABEL_{i}", i => i);
    }

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static PoNetConfig FromJson(string json, string source = "config.json")
    {
        PoNetConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<PoNetConfig>(json, Json);
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is long line ? $":{line + 1}" : "";
            var key = string.IsNullOrEmpty(e.Path) ? "" : $" at key '{e.Path.TrimStart('$', '.')}'";
            throw new PoNetInputException($"{source}{where}: invalid config{key}: {e.Message}", e);
        }
        if (config is null)
            throw new PoNetInputException($"{source}: expected a JSON object, got null");
        config.Validate(source);
        return config;
    }

    public static PoNetConfig Load(string path)
    {
        if (!File.Exists(path))
            throw new PoNetInputException($"{path}: config file not found");
        return FromJson(File.ReadAllText(path), path);
    }

    public string ToJson()
    {
        // Sorted keys, as HF writes them, so diffs against reference configs stay readable.
        var node = JsonSerializer.SerializeToNode(this, Json)!.AsObject();
        // PoNet's own key means nothing to HF's BertConfig/FNetConfig, FNet has no attention heads.
        if (ModelType != ModelFamily.PoNet.ModelType) node.Remove("clsgsepg");
        if (ModelType == ModelFamily.FNet.ModelType)
            foreach (var key in new[] { "num_attention_heads", "attention_probs_dropout_prob" }) node.Remove(key);
        var sorted = new JsonObject();
        foreach (var (k, v) in node.OrderBy(p => p.Key, StringComparer.Ordinal))
            sorted[k] = v?.DeepClone();
        return sorted.ToJsonString(Json) + "\n";
    }

    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson());

    public PoNetConfig Clone() => FromJson(ToJson());

    /// <summary>
    /// This config for another architecture (<c>--arch</c>): <see cref="ModelType"/> set, and
    /// hidden_act the family's HF default when it was the previous family's default.
    /// </summary>
    public PoNetConfig WithArchitecture(string modelType)
    {
        var family = ModelFamily.For(modelType, "--arch");
        var config = Clone();
        if (config.HiddenAct == Family.DefaultHiddenAct) config.HiddenAct = family.DefaultHiddenAct;
        config.ModelType = family.ModelType;
        if (family == ModelFamily.FNet) { config.UseTpuFourierOptimizations ??= false; config.TpuShortSeqLength ??= 512; }
        return config;
    }

    /// <summary>"gelu" is HF's exact erf GELU; "gelu_new" (FNet's default) the tanh approximation.</summary>
    static readonly string[] SupportedActivations = ["gelu", "gelu_new"];

    /// <summary>
    /// Explicit upper limits on the sizes of a config (README "Bad input"): far above any PoNet or
    /// BERT checkpoint, low enough that a corrupt or hostile config.json is refused before the model
    /// allocates anything. The model's memory is then also checked against the machine's.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, int> Limits = new Dictionary<string, int>
    {
        ["vocab_size"] = 10_000_000,
        ["hidden_size"] = 65_536,
        ["num_hidden_layers"] = 1_024,
        ["num_attention_heads"] = 65_536,
        ["intermediate_size"] = 1_048_576,
        ["max_position_embeddings"] = 1_048_576,
        ["type_vocab_size"] = 1_024,
    };

    /// <summary>
    /// A lower bound on the parameter count: embeddings, and per layer the mixer's six D×D projections
    /// and the feed-forward pair (docs/MODEL.md §1), the pooler and the MLM transform.
    /// </summary>
    public double EstimatedParameters() =>
        ((double)VocabSize + MaxPositionEmbeddings + TypeVocabSize) * HiddenSize
        + (double)NumHiddenLayers * (6.0 * HiddenSize * HiddenSize + 2.0 * HiddenSize * IntermediateSize)
        + 2.0 * HiddenSize * HiddenSize + VocabSize;

    /// <summary>Fails with the key, the value and what was expected.</summary>
    public void Validate(string source = "config")
    {
        void Positive(string key, double value)
        {
            if (!(value > 0))
                throw new PoNetInputException($"{source}: '{key}' = {value}: expected a positive number");
        }
        var family = ModelFamily.For(ModelType, source);
        Positive("vocab_size", VocabSize);
        Positive("hidden_size", HiddenSize);
        Positive("num_hidden_layers", NumHiddenLayers);
        Positive("num_attention_heads", NumAttentionHeads);
        Positive("intermediate_size", IntermediateSize);
        Positive("max_position_embeddings", MaxPositionEmbeddings);
        Positive("type_vocab_size", TypeVocabSize);
        Positive("layer_norm_eps", LayerNormEps);
        foreach (var (key, value) in new[] { ("vocab_size", VocabSize), ("hidden_size", HiddenSize), ("num_hidden_layers", NumHiddenLayers),
                     ("num_attention_heads", NumAttentionHeads), ("intermediate_size", IntermediateSize),
                     ("max_position_embeddings", MaxPositionEmbeddings), ("type_vocab_size", TypeVocabSize) })
            if (value > Limits[key])
                throw new PoNetInputException($"{source}: '{key}' = {value}: exceeds the limit {Limits[key]}");
        if (InitializerRange < 0)
            throw new PoNetInputException($"{source}: 'initializer_range' = {InitializerRange}: expected a number >= 0");
        if (family != ModelFamily.FNet && HiddenSize % NumAttentionHeads != 0)
            throw new PoNetInputException(
                $"{source}: 'hidden_size' = {HiddenSize} is not divisible by 'num_attention_heads' = {NumAttentionHeads}: expected a multiple");
        if (!SupportedActivations.Contains(HiddenAct))
            throw new PoNetInputException(
                $"{source}: 'hidden_act' = \"{HiddenAct}\": expected one of {string.Join(", ", SupportedActivations.Select(a => $"\"{a}\""))}");
        if (PositionEmbeddingType != "absolute")
            throw new PoNetInputException(
                $"{source}: 'position_embedding_type' = \"{PositionEmbeddingType}\": expected \"absolute\"");
        void Probability(string key, double p)
        {
            if (!(p >= 0 && p < 1))
                throw new PoNetInputException($"{source}: '{key}' = {p}: expected a probability in [0, 1)");
        }
        Probability("hidden_dropout_prob", HiddenDropoutProb);
        Probability("attention_probs_dropout_prob", AttentionProbsDropoutProb);
        if (ClassifierDropout is double cd) Probability("classifier_dropout", cd);
        void TokenId(string key, int id)
        {
            if (id < 0 || id >= VocabSize)
                throw new PoNetInputException($"{source}: '{key}' = {id}: expected a token id in [0, {VocabSize})");
        }
        TokenId("pad_token_id", PadTokenId);
        // cls/sep outside the vocabulary are allowed: such a model simply never sees them (cfgA, vocab 100).
        if (ClsTokenId < 0) throw new PoNetInputException($"{source}: 'cls_token_id' = {ClsTokenId}: expected >= 0");
        if (SepTokenId < 0) throw new PoNetInputException($"{source}: 'sep_token_id' = {SepTokenId}: expected >= 0");
        if (Id2Label is { Count: 0 })
            throw new PoNetInputException($"{source}: 'id2label' is empty: expected at least one label");
        if (Id2Label is not null)
        {
            var ids = new HashSet<int>();
            var names = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (id, name) in Id2Label)
            {
                if (!int.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i)
                    || i >= Id2Label.Count || !ids.Add(i))
                    throw new PoNetInputException($"{source}: 'id2label' key \"{id}\": expected the ids 0..{Id2Label.Count - 1}, each once");
                if (name is null || !names.TryAdd(name, id))
                    throw new PoNetInputException(name is null
                        ? $"{source}: 'id2label.{id}' is null: expected a label name"
                        : $"{source}: 'id2label' names \"{name}\" twice (ids {names[name]} and {id}): expected distinct labels");
            }
        }
        // Weights in float32, plus the copy a checkpoint load holds while it is being copied in.
        PoNet.Runtime.MemoryBudget.Check(source, $"a model of about {EstimatedParameters():0.###e0} parameters (float32, loaded from a checkpoint)",
            EstimatedParameters() * 4 * 2);
        if (ProblemType is not (null or "single_label_classification" or "multi_label_classification" or "regression"))
            throw new PoNetInputException(
                $"{source}: 'problem_type' = \"{ProblemType}\": expected \"regression\", \"single_label_classification\" or \"multi_label_classification\"");
    }
}
