using System.Text.Json;
using System.Text.Json.Serialization;
using PoNet.Model.Mixers;

namespace PoNet.Lra;

/// <summary>
/// Every hyperparameter of one LRA run: the model (docs/MODEL.md §6) and its optimisation. Defaults are
/// the paper's model (2 layers, D 64, 2 heads, FFN 128, dropout 0.1); the data dimensions and the
/// optimisation come from <see cref="LraTaskDefaults"/>. Serialised in checkpoints and results.json.
/// </summary>
public sealed record LraConfig
{
    [JsonPropertyName("task")] public string Task { get; init; } = "synthetic";
    [JsonPropertyName("mixer")] public MixerKind Mixer { get; init; } = MixerKind.PoNet;

    // Model
    [JsonPropertyName("num_layers")] public int Layers { get; init; } = 2;
    [JsonPropertyName("hidden_size")] public int Dim { get; init; } = 64;
    [JsonPropertyName("num_heads")] public int Heads { get; init; } = 2;
    [JsonPropertyName("ffn_size")] public int Ffn { get; init; } = 128;
    [JsonPropertyName("dropout")] public double Dropout { get; init; } = 0.1;
    [JsonPropertyName("head_size")] public int HeadHidden { get; init; } = 128;
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 512;
    [JsonPropertyName("num_classes")] public int Classes { get; init; } = 2;
    /// <summary>N: every sequence is padded (token 0) or truncated to this length.</summary>
    [JsonPropertyName("max_length")] public int MaxLength { get; init; } = 1024;
    /// <summary>Retrieval-style pairs: one shared encoder on two documents.</summary>
    [JsonPropertyName("pair")] public bool Pair { get; init; }
    /// <summary>segment_num of docs/MODEL.md §2.3: SMP chunks of N / segment_num + 1 positions.</summary>
    [JsonPropertyName("segment_num")] public int Segments { get; init; } = 64;
    [JsonPropertyName("ablate")] public PoNetBranches Ablate { get; init; } = PoNetBranches.None;
    [JsonPropertyName("fusion")] public PoNetFusion Fusion { get; init; } = PoNetFusion.Multiply;
    /// <summary>The Transformer's attention kernel; the same function either way, different time and memory.</summary>
    [JsonPropertyName("attention")] public AttentionKernel Attention { get; init; } = AttentionKernel.Sdpa;

    // Optimisation
    /// <summary>Optimiser steps (each one batch of <see cref="BatchSize"/> examples).</summary>
    [JsonPropertyName("steps")] public int Steps { get; init; } = 1000;
    /// <summary>Examples per optimiser step; split into <see cref="Accumulate"/> micro-batches.</summary>
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 32;
    [JsonPropertyName("accumulate")] public int Accumulate { get; init; } = 1;
    [JsonPropertyName("lr")] public double LearningRate { get; init; } = 1e-4;
    [JsonPropertyName("warmup")] public int Warmup { get; init; } = 100;
    /// <summary>Max global gradient norm; null for no clipping.</summary>
    [JsonPropertyName("clip")] public double? Clip { get; init; }
    [JsonPropertyName("eval_every")] public int EvalEvery { get; init; } = 100;
    /// <summary>
    /// Dev examples of each evaluation during training: a fixed, seeded subset when the dev split is
    /// larger (null or 0: all). The best step's weights are evaluated on the full dev and test sets at the end.
    /// </summary>
    [JsonPropertyName("eval_examples")] public int? EvalExamples { get; init; }
    [JsonPropertyName("seed")] public long Seed { get; init; } = 42;

    public int HeadDim => Dim / Heads;

    /// <summary>
    /// The mixer of every block (docs/MODEL.md §6): clsgsepg off, an output projection D→D, SMP over
    /// the fixed chunks the encoder puts in the mixer context, FNet with padded rows zeroed.
    /// </summary>
    [JsonIgnore] public MixerSpec MixerSpec => new(Mixer, Dim, Heads)
    {
        Ablate = Ablate, Fusion = Fusion, Attention = Attention, OutputProjection = true, FourierZeroesPads = true,
    };
    public int MicroBatchSize => BatchSize / Accumulate;
    /// <summary>SMP chunk length: N / segment_num + 1 (integer division), as the paper's LRA code.</summary>
    public int SegmentLength => FixedChunks.SegmentLength(MaxLength, Segments);

    /// <summary>Throws <see cref="PoNetInputException"/> naming the first inconsistent value.</summary>
    public LraConfig Validate()
    {
        void Require(bool ok, string message)
        {
            if (!ok) throw new PoNetInputException($"invalid LRA configuration: {message}");
        }
        Require(Layers >= 1, $"layers = {Layers}, expected >= 1");
        Require(Dim >= 1 && Heads >= 1 && Dim % Heads == 0, $"dim {Dim} must be a positive multiple of heads {Heads}");
        Require(Ffn >= 1 && HeadHidden >= 1, $"ffn = {Ffn}, head size = {HeadHidden}: expected >= 1");
        Require(Dropout is >= 0 and < 1, $"dropout = {Dropout}, expected in [0, 1)");
        Require(VocabSize >= 2, $"vocab size = {VocabSize}, expected >= 2 (token 0 is padding)");
        Require(Classes >= 2, $"classes = {Classes}, expected >= 2");
        Require(MaxLength >= 1, $"max length = {MaxLength}, expected >= 1");
        Require(Segments >= 1, $"segments = {Segments}, expected >= 1");
        Require(Ablate != (PoNetBranches.GlobalAggregation | PoNetBranches.SegmentMaxPooling | PoNetBranches.LocalMaxPooling),
            "ablating ga, smp and lmp together leaves PoNet without a mixer");
        Require(Steps >= 1, $"steps = {Steps}, expected >= 1");
        Require(Warmup >= 0 && Warmup <= Steps, $"warmup = {Warmup}, expected in [0, steps = {Steps}]");
        Require(BatchSize >= 1, $"batch size = {BatchSize}, expected >= 1");
        Require(Accumulate >= 1 && BatchSize % Accumulate == 0, $"accumulate = {Accumulate} must divide batch size {BatchSize}");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"lr = {LearningRate}, expected > 0");
        Require(Clip is null || Clip > 0, $"clip = {Clip}, expected > 0");
        Require(EvalEvery >= 1, $"eval every = {EvalEvery}, expected >= 1");
        Require(EvalExamples is null or >= 0, $"eval examples = {EvalExamples}, expected >= 0 (0: the whole dev split)");
        Require(Seed >= 0, $"seed = {Seed}, expected >= 0");
        foreach (var (name, value, limit) in new[] { ("layers", Layers, MaxLayers), ("dim", Dim, MaxDim), ("ffn", Ffn, MaxFfn),
                     ("head size", HeadHidden, MaxFfn), ("vocab size", VocabSize, MaxVocab), ("classes", Classes, MaxVocab),
                     ("max length", MaxLength, MaxSequence), ("segments", Segments, MaxSequence), ("batch size", BatchSize, MaxBatch) })
            Require(value <= limit, $"{name} = {value} exceeds the limit {limit}");
        PoNet.Runtime.MemoryBudget.Check("invalid LRA configuration",
            $"training {Layers}×{Dim} (ffn {Ffn}) on micro-batches of {MicroBatchSize}×{MaxLength}{(Pair ? "×2" : "")}", EstimatedTrainingBytes());
        return this;
    }

    /// <summary>Explicit size limits (README "Bad input"): far above the paper's LRA models, refused before any allocation.</summary>
    public const int MaxLayers = 1_024, MaxDim = 65_536, MaxFfn = 1_048_576, MaxVocab = 10_000_000, MaxSequence = 1_048_576, MaxBatch = 1_048_576;

    /// <summary>
    /// A lower bound on a training step's memory: float32 weights with their gradients and AdamW's
    /// two moments (4 copies), and per layer at least four [batch, length, dim] activations plus the
    /// feed-forward's [batch, length, ffn] kept for backward.
    /// </summary>
    public double EstimatedTrainingBytes()
    {
        double parameters = ((double)VocabSize + MaxLength) * Dim + (double)Layers * (6.0 * Dim * Dim + 2.0 * Dim * Ffn)
                            + (double)Dim * HeadHidden * (Pair ? 4 : 1) + (double)HeadHidden * Classes;
        double tokens = (double)MicroBatchSize * MaxLength * (Pair ? 2 : 1);
        double activations = tokens * Layers * (4.0 * Dim + Ffn);
        return 4 * (4 * parameters + activations);
    }

    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static LraConfig FromJson(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<LraConfig>(json, Json) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new PoNetInputException($"{source}: not an LRA configuration: {e.Message}", e);
        }
    }
}

/// <summary>One row of the paper's LRA table (docs/MODEL.md §6), or the built-in synthetic task.</summary>
public sealed record LraTaskDefaults(
    string Task, int MaxLength, int VocabSize, int Classes, int BatchSize, double LearningRate,
    int Warmup, int Steps, int Segments, bool Pair = false, QuickPreset? QuickRun = null)
{
    /// <summary>Paper settings; ListOps' 2000 and Text's 4000 are rounded up to powers of two as the paper ran them.</summary>
    public static readonly IReadOnlyList<LraTaskDefaults> All =
    [
        // Quick ListOps: 2000 steps at N = 512 (expressions cut after 512 tokens) learn well above
        // the 17 % majority class in about 15 minutes on 2 cores; 300 steps at N = 2048 stay at it.
        new("listops", 2048, 32, 10, 32, 1e-4, 1000, 5000, 64, QuickRun: new(MaxLength: 512, Steps: 2000, LearningRate: 3e-3, Warmup: 200, EvalEvery: 400)),
        new("text", 4096, 512, 2, 32, 1e-4, 8000, 20000, 4096),
        new("retrieval", 4000, 512, 2, 32, 1e-4, 800, 30000, 64, Pair: true),
        new("image", 1024, 512, 10, 256, 1e-4, 175, 35000, 32),
        new("pathfinder", 1024, 512, 2, 256, 1e-4, 312, 62400, 1),
        // Not in the paper: a trivially learnable task (see SyntheticLra) to exercise the pipeline.
        new("synthetic", 256, 16, 2, 32, 1e-3, 50, 400, 16),
    ];

    public static LraTaskDefaults For(string task) =>
        All.FirstOrDefault(t => t.Task.Equals(task, StringComparison.OrdinalIgnoreCase))
        ?? throw new PoNetInputException($"unknown LRA task '{task}': expected one of {string.Join(", ", All.Select(t => t.Task))}");

    /// <summary>The paper's run: the table row with the §6 model.</summary>
    public LraConfig Paper(MixerKind mixer = MixerKind.PoNet) => new()
    {
        Task = Task, Mixer = mixer, MaxLength = MaxLength, VocabSize = VocabSize, Classes = Classes, Pair = Pair,
        Segments = Segments, BatchSize = BatchSize, LearningRate = LearningRate, Warmup = Warmup, Steps = Steps,
        EvalEvery = Math.Max(1, Steps / 10),
    };

    /// <summary>
    /// A short run: the task's <see cref="QuickRun"/>, or else 300 steps of at most 32 examples at lr
    /// 1e-3 (30 warm-up steps) on the same data shapes.
    /// </summary>
    public LraConfig Quick(MixerKind mixer = MixerKind.PoNet)
    {
        var quick = QuickRun ?? new QuickPreset(MaxLength, Steps: 300, LearningRate: 1e-3, Warmup: 30, EvalEvery: 100);
        return Paper(mixer) with
        {
            MaxLength = quick.MaxLength, Steps = quick.Steps, Warmup = quick.Warmup, EvalEvery = quick.EvalEvery,
            BatchSize = Math.Min(BatchSize, 32), LearningRate = quick.LearningRate,
        };
    }
}

/// <summary>Settings a user gave on top of a preset; null where the preset's value stands.</summary>
public sealed record LraOverrides
{
    public int? Steps { get; init; }
    public int? BatchSize { get; init; }
    public double? LearningRate { get; init; }
    public int? Warmup { get; init; }
    public int? MaxLength { get; init; }
    public int? Layers { get; init; }
    public int? Dim { get; init; }
    public int? Heads { get; init; }
    public int? Ffn { get; init; }
    public int? Segments { get; init; }
    public int? EvalEvery { get; init; }
    public int? EvalExamples { get; init; }
    public long? Seed { get; init; }
    public int? Accumulate { get; init; }
    public double? Clip { get; init; }
    public PoNetBranches Ablate { get; init; }
    public PoNetFusion? Fusion { get; init; }
    public AttentionKernel? Attention { get; init; }
}

public static class LraPresets
{
    public static readonly IReadOnlyList<string> Names = ["quick", "paper"];

    /// <summary>Default dev examples per evaluation during training (the whole dev split when smaller).</summary>
    public const int DefaultEvalExamples = 2000;

    /// <summary>
    /// The configuration of a run: the task's preset ("quick" or "paper") with the user's overrides.
    /// Scaling rules: a run shorter or longer than the preset keeps the preset's warm-up fraction and
    /// evaluates ten times (unless --warmup or --eval-every say otherwise). Mixer-specific settings on
    /// another mixer are refused.
    /// </summary>
    public static LraConfig Resolve(string task, string preset, MixerKind mixer, LraOverrides o)
    {
        var defaults = LraTaskDefaults.For(task);
        var p = preset.ToLowerInvariant() switch
        {
            "quick" => defaults.Quick(mixer),
            "paper" => defaults.Paper(mixer),
            _ => throw new PoNetInputException($"--preset {preset}: expected one of {string.Join(", ", Names)}"),
        };
        if (mixer != MixerKind.PoNet && (o.Ablate != PoNetBranches.None || o.Fusion is not null))
            throw new PoNetInputException("--ablate and --fusion change the PoNet mixer; they need --mixer ponet");
        if (mixer != MixerKind.Transformer && o.Attention is not null)
            throw new PoNetInputException("--attention chooses the Transformer's attention kernel; it needs --mixer transformer");
        int steps = o.Steps ?? p.Steps;
        return (p with
        {
            Steps = steps,
            BatchSize = o.BatchSize ?? p.BatchSize,
            LearningRate = o.LearningRate ?? p.LearningRate,
            Warmup = o.Warmup ?? (int)Math.Round((double)p.Warmup * steps / p.Steps),
            MaxLength = o.MaxLength ?? p.MaxLength,
            Layers = o.Layers ?? p.Layers,
            Dim = o.Dim ?? p.Dim,
            Heads = o.Heads ?? p.Heads,
            Ffn = o.Ffn ?? p.Ffn,
            Segments = o.Segments ?? p.Segments,
            EvalEvery = o.EvalEvery ?? (o.Steps is null ? p.EvalEvery : Math.Max(1, steps / 10)),
            EvalExamples = o.EvalExamples ?? p.EvalExamples ?? DefaultEvalExamples,
            Seed = o.Seed ?? p.Seed,
            Accumulate = o.Accumulate ?? p.Accumulate,
            Clip = o.Clip ?? p.Clip,
            Ablate = o.Ablate,
            Fusion = o.Fusion ?? PoNetFusion.Multiply,
            Attention = o.Attention ?? AttentionKernel.Sdpa,
        }).Validate();
    }
}

/// <summary>A task's quick preset: a short run for checking a set-up or a laptop-sized comparison.</summary>
public sealed record QuickPreset(int MaxLength, int Steps, double LearningRate, int Warmup, int EvalEvery);
