using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace PoNet.Training;

/// <summary>One row of metrics.csv: a training step (its learning rate and training metrics) and, when the step was evaluated, the dev metrics.</summary>
public sealed record MetricsRow
{
    [JsonPropertyName("step")] public int Step { get; init; }
    [JsonPropertyName("learning_rate")] public double? LearningRate { get; init; }
    [JsonPropertyName("train")] public Dictionary<string, double> Train { get; init; } = [];
    [JsonPropertyName("dev")] public Dictionary<string, double>? Dev { get; set; }

    public const string File = "metrics.csv";

    /// <summary>Value equality, dictionaries included (a resumed run's rows must equal an uninterrupted one's).</summary>
    public bool Equals(MetricsRow? other) =>
        other is not null && Step == other.Step && Nullable.Equals(LearningRate, other.LearningRate) && Same(Train, other.Train) && Same(Dev, other.Dev);

    public override int GetHashCode() => HashCode.Combine(Step, LearningRate, Train.Count, Dev?.Count);

    static bool Same(Dictionary<string, double>? a, Dictionary<string, double>? b) =>
        a is null ? b is null : b is not null && a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var v) && v.Equals(p.Value));

    /// <summary>
    /// metrics.csv: step, learning_rate, train_* and dev_* columns (the names the task reports, in the
    /// order first seen); an empty cell where a step has no such value (dev_* outside evaluations).
    /// </summary>
    public static string Csv(IReadOnlyList<MetricsRow> rows)
    {
        var train = rows.SelectMany(r => r.Train.Keys).Distinct().ToList();
        var dev = rows.SelectMany(r => r.Dev?.Keys ?? Enumerable.Empty<string>()).Distinct().ToList();
        var csv = new StringBuilder("step,learning_rate");
        foreach (var k in train) csv.Append(",train_").Append(k);
        foreach (var k in dev) csv.Append(",dev_").Append(k);
        csv.Append('\n');
        static string F(double? v) => v is { } x ? x.ToString("R", CultureInfo.InvariantCulture) : "";
        foreach (var r in rows)
        {
            csv.Append(r.Step.ToString(CultureInfo.InvariantCulture)).Append(',').Append(F(r.LearningRate));
            foreach (var k in train) csv.Append(',').Append(F(r.Train.TryGetValue(k, out var v) ? v : null));
            foreach (var k in dev) csv.Append(',').Append(F(r.Dev is not null && r.Dev.TryGetValue(k, out var v) ? v : null));
            csv.Append('\n');
        }
        return csv.ToString();
    }
}

/// <summary>The best evaluation so far.</summary>
public sealed record BestEvaluation(
    [property: JsonPropertyName("step")] int Step,
    [property: JsonPropertyName("score")] double Score,
    [property: JsonPropertyName("metrics")] Dictionary<string, double> Metrics);

/// <summary>state.json of a checkpoint: everything about a run that is not a tensor.</summary>
public sealed class TrainingState
{
    public const string CurrentFormat = "ponet-training-checkpoint/1";

    [JsonPropertyName("format")] public string Format { get; set; } = CurrentFormat;
    /// <summary>Which command family wrote it ("lra", "pretrain", "finetune").</summary>
    [JsonPropertyName("kind")] public string Kind { get; set; } = "";
    /// <summary>Optimiser steps done; the next step has this 0-based index.</summary>
    [JsonPropertyName("step")] public int Step { get; set; }
    [JsonPropertyName("steps")] public int Steps { get; set; }
    [JsonPropertyName("train_seconds")] public double TrainSeconds { get; set; }
    [JsonPropertyName("eval_seconds")] public double EvalSeconds { get; set; }
    [JsonPropertyName("evaluations")] public int Evaluations { get; set; }
    [JsonPropertyName("train_tokens")] public long TrainTokens { get; set; }
    [JsonPropertyName("peak_memory_mb")] public double? PeakMemoryMb { get; set; }
    /// <summary>libtorch CPU threads of the session that saved it: bitwise reproducibility needs the same count.</summary>
    [JsonPropertyName("threads")] public int Threads { get; set; }
    [JsonPropertyName("best")] public BestEvaluation? Best { get; set; }
    /// <summary>AdamW's per-parameter step counts (its moments are in optimizer.safetensors).</summary>
    [JsonPropertyName("optimizer_steps")] public Dictionary<string, long> OptimizerSteps { get; set; } = [];
    [JsonPropertyName("rows")] public List<MetricsRow> Rows { get; set; } = [];
    /// <summary>The task's own settings and state (<see cref="ITrainingTask.SaveState"/>).</summary>
    [JsonPropertyName("task")] public JsonNode? Task { get; set; }

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads and validates state.json field by field: a resume never continues from a state it cannot trust.</summary>
    public static TrainingState Read(string path, string kind)
    {
        if (!System.IO.File.Exists(path)) throw new PoNetInputException($"{path}: file not found");
        TrainingState? state;
        try
        {
            state = JsonSerializer.Deserialize<TrainingState>(System.IO.File.ReadAllText(path), Json);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new PoNetInputException($"{path}: not a training checkpoint state: {e.Message.Split('\n')[0]}", e);
        }
        if (state is null) throw new PoNetInputException($"{path}: empty training state");
        if (state.Format != CurrentFormat) throw new PoNetInputException($"{path}: key 'format' is '{state.Format}', expected '{CurrentFormat}'");
        if (state.Kind != kind) throw new PoNetInputException($"{path}: key 'kind' is '{state.Kind}': a {state.Kind} run, not a {kind} run");
        if (state.Steps < 1) throw new PoNetInputException($"{path}: key 'steps' is {state.Steps}, expected >= 1");
        if (state.Step < 0 || state.Step > state.Steps)
            throw new PoNetInputException($"{path}: key 'step' is {state.Step}, expected 0..{state.Steps} (key 'steps')");
        if (state.Threads < 0) throw new PoNetInputException($"{path}: key 'threads' is {state.Threads}, expected >= 0");
        if (!(state.TrainSeconds >= 0) || !(state.EvalSeconds >= 0) || state.TrainTokens < 0 || state.Evaluations < 0)
            throw new PoNetInputException($"{path}: keys 'train_seconds', 'eval_seconds', 'train_tokens', 'evaluations' must be >= 0");
        state.Rows ??= [];
        int previous = -1;
        foreach (var row in state.Rows)
        {
            if (row.Step <= previous || row.Step > state.Step)
                throw new PoNetInputException($"{path}: key 'rows': step {row.Step} after {previous} (rows must be increasing and at most step {state.Step})");
            previous = row.Step;
        }
        int trained = state.Rows.Count(r => r.Step > 0);
        if (trained != state.Step || (state.Step > 0 && previous != state.Step))
            throw new PoNetInputException($"{path}: key 'rows' has {trained} training steps, but key 'step' says {state.Step}");
        if (state.Best is { } best && (best.Step < 0 || best.Step > state.Step))
            throw new PoNetInputException($"{path}: key 'best.step' is {best.Step}, expected 0..{state.Step}");
        state.OptimizerSteps ??= [];
        foreach (var (name, count) in state.OptimizerSteps)
            if (count < 0 || count > state.Step)
                throw new PoNetInputException($"{path}: key 'optimizer_steps.{name}' is {count}, expected 0..{state.Step}");
        return state;
    }
}
