using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace PoNet.Training;

/// <summary>What one micro-batch gives the trainer: the loss to back-propagate, its metrics (named without a prefix) and its token count.</summary>
public sealed record StepOutput(Tensor Loss, IReadOnlyDictionary<string, double> Metrics, long Tokens);

/// <summary>A dev evaluation: its metrics, and the one number best-checkpoint tracking maximises.</summary>
public sealed record Evaluation(IReadOnlyDictionary<string, double> Metrics, double Score);

/// <summary>
/// What a task gives the one training loop (<see cref="Trainer"/>): its model, its batches and loss,
/// its evaluation, how its model is written into and read from a checkpoint folder, and any state
/// of its own that a resume needs. The loop owns everything else: optimiser, schedule, seeding,
/// accumulation, clipping, bf16, evaluation cadence, best tracking, checkpoints, progress, cancellation.
/// </summary>
public interface ITrainingTask
{
    nn.Module Model { get; }

    /// <summary>Called before step <paramref name="step"/> (0-based), after torch's generator was seeded for it: re-seed the task's own streams.</summary>
    void BeginStep(int step) { }

    /// <summary>Forward pass and loss of micro-batch <paramref name="microBatch"/> of <paramref name="microBatches"/> of step <paramref name="step"/>.</summary>
    StepOutput Forward(int step, int microBatch, int microBatches);

    /// <summary>Evaluates the current weights (the trainer switches to eval mode and no_grad around it).</summary>
    Evaluation Evaluate();

    /// <summary>Writes the model's weights (and whatever makes the folder usable, e.g. config and tokenizer) into a checkpoint folder.</summary>
    void SaveModel(string dir);

    /// <summary>Reads the weights of a checkpoint folder into the model, bit for bit.</summary>
    void LoadModel(string dir);

    /// <summary>State of the task's own that a resume needs (e.g. the data stream's position), saved in state.json.</summary>
    JsonNode? SaveState() => null;

    /// <summary>Restores <see cref="SaveState"/>'s value; <paramref name="file"/> names state.json for error messages.</summary>
    void RestoreState(JsonNode? state, string file) { }
}

/// <summary>Calls back on the training thread (System.Progress would post to the thread pool, out of step order).</summary>
public sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
