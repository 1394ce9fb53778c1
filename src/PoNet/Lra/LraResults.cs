using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using PoNet.Model.Mixers;

namespace PoNet.Lra;

/// <summary>Loss and accuracy (fraction 0..1) of a model on one split.</summary>
public sealed record LraEvaluation(
    [property: JsonPropertyName("loss")] double Loss,
    [property: JsonPropertyName("accuracy")] double Accuracy,
    [property: JsonPropertyName("examples")] int Examples);

/// <summary>The best dev evaluation so far (highest accuracy; the earliest on ties).</summary>
public sealed record LraBest(
    [property: JsonPropertyName("step")] int Step,
    [property: JsonPropertyName("dev_loss")] double DevLoss,
    [property: JsonPropertyName("dev_accuracy")] double DevAccuracy);

/// <summary>The outcome of a finished run, written as results.json.</summary>
public sealed record LraResults
{
    [JsonPropertyName("task")] public required string Task { get; init; }
    [JsonPropertyName("mixer")] public required MixerKind Mixer { get; init; }
    [JsonPropertyName("steps")] public required int Steps { get; init; }
    /// <summary>Step of the best dev evaluation, whose weights were tested.</summary>
    [JsonPropertyName("best_step")] public required int BestStep { get; init; }
    [JsonPropertyName("dev_accuracy")] public required double DevAccuracy { get; init; }
    [JsonPropertyName("dev_loss")] public required double DevLoss { get; init; }
    /// <summary>Dev examples scored at the end (the whole dev split).</summary>
    [JsonPropertyName("dev_examples")] public int DevExamples { get; init; }
    /// <summary>Dev examples of each evaluation during training (a seeded subset when smaller than the split).</summary>
    [JsonPropertyName("eval_examples")] public int EvalExamples { get; init; }
    /// <summary>The best step's accuracy on the evaluation subset (equal to <see cref="DevAccuracy"/> when it is the whole split).</summary>
    [JsonPropertyName("best_eval_accuracy")] public double BestEvalAccuracy { get; init; }
    /// <summary>Accuracy of the best-dev weights on test; null when the task has no test split.</summary>
    [JsonPropertyName("test_accuracy")] public required double? TestAccuracy { get; init; }
    [JsonPropertyName("test_loss")] public required double? TestLoss { get; init; }
    [JsonPropertyName("test_examples")] public required int TestExamples { get; init; }
    /// <summary>Wall time of the optimiser steps, all sessions together, evaluations excluded.</summary>
    [JsonPropertyName("train_seconds")] public required double TrainSeconds { get; init; }
    /// <summary>Seconds spent in dev evaluations during training (not in <see cref="TrainSeconds"/>).</summary>
    [JsonPropertyName("eval_seconds")] public double EvalSeconds { get; init; }
    /// <summary>Training positions per second, padding included (B·N per document per micro-batch).</summary>
    [JsonPropertyName("tokens_per_second")] public required double TokensPerSecond { get; init; }
    [JsonPropertyName("steps_per_second")] public required double StepsPerSecond { get; init; }
    /// <summary>Peak resident memory of the training process (VmHWM), MiB; the largest over resumed sessions.</summary>
    [JsonPropertyName("peak_memory_mb")] public required double? PeakMemoryMb { get; init; }
    [JsonPropertyName("parameters")] public required long Parameters { get; init; }
    [JsonPropertyName("threads")] public required int Threads { get; init; }
    [JsonPropertyName("config")] public required LraConfig Config { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, LraConfig.Json);

    public static LraResults Read(string path)
    {
        if (!File.Exists(path)) throw new PoNetInputException($"{path}: file not found");
        try
        {
            return JsonSerializer.Deserialize<LraResults>(File.ReadAllText(path), LraConfig.Json) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new PoNetInputException($"{path}: not an LRA results file: {e.Message}", e);
        }
    }
}
