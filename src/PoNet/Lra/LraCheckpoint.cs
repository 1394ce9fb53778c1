using PoNet.Training;
using System.Text.Json;
using System.Text.Json.Serialization;
using PoNet.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using PoNet.IO;

namespace PoNet.Lra;

/// <summary>Everything about a run that is not a tensor; state.json of a checkpoint.</summary>
public sealed record LraRunState
{
    public const string CurrentFormat = "ponet-lra-checkpoint/1";

    [JsonPropertyName("format")] public string Format { get; init; } = CurrentFormat;
    [JsonPropertyName("config")] public required LraConfig Config { get; init; }
    /// <summary>Optimiser steps done; the next step has this 0-based index.</summary>
    [JsonPropertyName("step")] public int Step { get; set; }
    [JsonPropertyName("best")] public LraBest? Best { get; set; }
    [JsonPropertyName("history")] public List<LraMetricsRow> History { get; init; } = [];
    // Training loss/accuracy accumulated since the last evaluation.
    [JsonPropertyName("pending_loss_sum")] public double PendingLossSum { get; set; }
    [JsonPropertyName("pending_batches")] public int PendingBatches { get; set; }
    [JsonPropertyName("pending_correct")] public long PendingCorrect { get; set; }
    [JsonPropertyName("pending_examples")] public long PendingExamples { get; set; }
    [JsonPropertyName("train_seconds")] public double TrainSeconds { get; set; }
    [JsonPropertyName("train_tokens")] public long TrainTokens { get; set; }
    [JsonPropertyName("peak_memory_mb")] public double? PeakMemoryMb { get; set; }
    /// <summary>libtorch CPU threads of the session that saved it: bitwise reproducibility needs the same count.</summary>
    [JsonPropertyName("threads")] public int Threads { get; set; }
    /// <summary>Train-set size and a hash of its labels: the batch order depends on them.</summary>
    [JsonPropertyName("train_examples")] public int TrainExamples { get; init; }
    [JsonPropertyName("train_label_hash")] public string TrainLabelHash { get; init; } = "";
    /// <summary>AdamW's per-parameter step counts (its moments are in optimizer.safetensors).</summary>
    [JsonPropertyName("optimizer_steps")] public Dictionary<string, long> OptimizerSteps { get; set; } = [];
}

/// <summary>
/// A resumable training checkpoint, one folder per saved step under OUT/checkpoints:
/// <code>
/// checkpoints/latest                     name of the newest complete folder ("step-000500")
/// checkpoints/step-000500/model.safetensors      model weights (state-dict names)
/// checkpoints/step-000500/optimizer.safetensors  AdamW moments: "{param}.exp_avg", "{param}.exp_avg_sq"
/// checkpoints/step-000500/best.safetensors       weights of the best dev evaluation so far (absent before the first)
/// checkpoints/step-000500/state.json             LraRunState: config, step, best, metrics, AdamW step counts
/// </code>
/// A folder is written completely under a temporary name and renamed before <c>latest</c> is switched
/// (atomically) to it, so a crash never leaves a half checkpoint in use. Older folders are deleted
/// after the switch. The data order and dropout are pure functions of (seed, step), so no RNG state
/// is stored.
/// </summary>
public static class LraCheckpoint
{
    public const string Folder = "checkpoints", Latest = "latest";

    public static string StepFolderName(int step) => $"step-{step:D6}";

    /// <summary>The newest complete checkpoint folder of a run, or null when it has none.</summary>
    public static string? Find(string outDir)
    {
        var pointer = Path.Combine(outDir, Folder, Latest);
        if (!File.Exists(pointer)) return null;
        var name = File.ReadAllText(pointer).Trim();
        var dir = Path.Combine(outDir, Folder, name);
        if (name.Length == 0 || name.Contains('/') || name.Contains('\\') || !Directory.Exists(dir))
            throw new PoNetInputException($"{pointer}: names checkpoint '{name}', which does not exist");
        return dir;
    }

    public static void Save(string outDir, LraRunState state, LraModel model, AdamW optimizer, IReadOnlyDictionary<string, Tensor>? best)
    {
        var root = Path.Combine(outDir, Folder);
        var name = StepFolderName(state.Step);
        var target = Path.Combine(root, name);
        var pointer = Path.Combine(root, Latest);
        // A step's state is a pure function of (config, data, step): an existing current folder for it is already right.
        if (File.Exists(pointer) && File.ReadAllText(pointer).Trim() == name && Directory.Exists(target)) return;

        var tmp = Path.Combine(root, $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(tmp);
        try
        {
            var weights = model.state_dict();
            SafeTensors.Save(Path.Combine(tmp, "model.safetensors"), weights);
            var steps = AdamWState.Save(model, optimizer, Path.Combine(tmp, "optimizer.safetensors"));
            if (best is not null) SafeTensors.Save(Path.Combine(tmp, "best.safetensors"), best);
            state.OptimizerSteps = steps;
            state.Threads = torch.get_num_threads();
            AtomicFile.WriteAllText(Path.Combine(tmp, "state.json"), JsonSerializer.Serialize(state, LraConfig.Json));
            if (Directory.Exists(target)) Directory.Delete(target, recursive: true); // stale, not the current one
            Directory.Move(tmp, target);
        }
        finally
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        }
        AtomicFile.WriteAllText(pointer, name + "\n");
        foreach (var old in Directory.EnumerateDirectories(root, "step-*"))
            if (Path.GetFileName(old) != name) Directory.Delete(old, recursive: true);
    }

    public static LraRunState ReadState(string checkpointDir)
    {
        var path = Path.Combine(checkpointDir, "state.json");
        if (!File.Exists(path)) throw new PoNetInputException($"{path}: file not found");
        LraRunState? state;
        try
        {
            state = JsonSerializer.Deserialize<LraRunState>(File.ReadAllText(path), LraConfig.Json);
        }
        catch (JsonException e)
        {
            throw new PoNetInputException($"{path}: not an LRA checkpoint state: {e.Message}", e);
        }
        if (state is null || state.Format != LraRunState.CurrentFormat)
            throw new PoNetInputException($"{path}: format '{state?.Format}', expected '{LraRunState.CurrentFormat}'");
        return state;
    }

    /// <summary>Restores weights and AdamW moments and step counts, bit for bit.</summary>
    public static void Restore(string checkpointDir, LraRunState state, LraModel model, AdamW optimizer)
    {
        var modelPath = Path.Combine(checkpointDir, "model.safetensors");
        CopyInto(model.state_dict(), SafeTensors.Load(modelPath), modelPath);
        AdamWState.Restore(model, optimizer, Path.Combine(checkpointDir, "optimizer.safetensors"), state.OptimizerSteps);
    }

    /// <summary>Reads best.safetensors of a checkpoint, or null when it has none yet.</summary>
    public static Dictionary<string, Tensor>? ReadBest(string checkpointDir)
    {
        var path = Path.Combine(checkpointDir, "best.safetensors");
        return File.Exists(path) ? SafeTensors.Load(path) : null;
    }

    /// <summary>Copies every tensor of <paramref name="source"/> into the same-named target, after checking names, shapes and dtypes all match.</summary>
    internal static void CopyInto(IReadOnlyDictionary<string, Tensor> targets, Dictionary<string, Tensor> source, string file)
    {
        try
        {
            var missing = targets.Keys.Where(k => !source.ContainsKey(k)).ToList();
            var extra = source.Keys.Where(k => !targets.ContainsKey(k)).ToList();
            if (missing.Count > 0 || extra.Count > 0)
                throw new PoNetInputException($"{file}: does not match the model: missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", extra)}]");
            foreach (var (name, target) in targets)
            {
                var s = source[name];
                if (!s.shape.SequenceEqual(target.shape) || s.dtype != target.dtype)
                    throw new PoNetInputException(
                        $"{file}: tensor '{name}' is {s.dtype}[{string.Join(", ", s.shape)}], the model needs {target.dtype}[{string.Join(", ", target.shape)}]");
            }
            using (no_grad())
                foreach (var (name, target) in targets) target.copy_(source[name]);
        }
        finally
        {
            foreach (var t in source.Values) t.Dispose();
        }
    }
}
