using System.Diagnostics;
using PoNet.Checkpoints;
using PoNet.IO;
using PoNet.Model;
using PoNet.Randomness;
using PoNet.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PoNet.Training;

/// <summary>The loop's settings; the task supplies everything else.</summary>
public sealed record TrainerOptions
{
    public required int Steps { get; init; }
    public required ISchedule Schedule { get; init; }
    public required AdamWSettings Optimizer { get; init; }
    /// <summary>Evaluate (and checkpoint) every this many steps, and after the last.</summary>
    public required int EvalEvery { get; init; }
    /// <summary>Also checkpoint every this many steps (0: only at evaluations and the end).</summary>
    public int SaveEvery { get; init; }
    /// <summary>Micro-batches per optimiser step; the loss of each is divided by this.</summary>
    public int Accumulate { get; init; } = 1;
    /// <summary>Clip the global gradient norm to this value (null: no clipping).</summary>
    public double? Clip { get; init; }
    /// <summary>bf16 matrix products in forward (<see cref="ComputePrecision.BFloat16"/>).</summary>
    public bool BFloat16 { get; init; }
    /// <summary>Seeds torch's generator at every step (with the step index), before <see cref="ITrainingTask.BeginStep"/>.</summary>
    public required long Seed { get; init; }
    /// <summary>Evaluate the initial weights too (a row for step 0).</summary>
    public bool EvaluateAtStart { get; init; }
    /// <summary>Keep the weights of the best evaluation (by <see cref="Evaluation.Score"/>), in memory and in every checkpoint.</summary>
    public bool TrackBest { get; init; }

    public void Validate()
    {
        if (Steps < 1) throw new PoNetInputException($"--steps {Steps}: expected >= 1");
        if (EvalEvery < 1) throw new PoNetInputException($"--eval-every {EvalEvery}: expected >= 1");
        if (SaveEvery < 0) throw new PoNetInputException($"--save-every {SaveEvery}: expected >= 0");
        if (Accumulate < 1) throw new PoNetInputException($"--accumulate {Accumulate}: expected >= 1");
        if (Clip is { } c && !(c > 0)) throw new PoNetInputException($"--clip {c}: expected a positive number");
    }
}

/// <summary>What the loop reports after every step.</summary>
public sealed record TrainingProgress(int Step, int Steps, MetricsRow Row, double TokensPerSecond, TimeSpan Eta, BestEvaluation? Best);

public enum TrainingOutcome { Completed, Cancelled }

/// <summary>
/// The one training loop of every command (LRA, pre-training, fine-tuning). Per optimiser step k
/// (0-based): torch's generator is seeded from (seed, k) and the task re-seeds its own streams, the
/// schedule sets the learning rate and β1, the micro-batches are run forward (bf16 products when
/// asked) and backward, the gradient norm is clipped, AdamW steps. Every EvalEvery steps and after
/// the last, the task evaluates (in eval mode, without gradients); the best evaluation's weights
/// are kept when asked. Checkpoints (<see cref="RunCheckpoints"/>) are written at evaluations,
/// every SaveEvery steps, at the end and on cancellation (checked after each step), so a resumed
/// run repeats exactly what an uninterrupted one would have done: every random draw of step k
/// depends only on (seed, k), and the weights, AdamW's moments and step counts, the best weights,
/// the metrics and the task's state are restored bit for bit. metrics.csv (one row per step) is
/// rewritten with every checkpoint.
/// </summary>
public sealed class Trainer : IDisposable
{
    public const string ModelFile = "model.safetensors", OptimizerFile = "optimizer.safetensors", BestFile = "best.safetensors";

    readonly ITrainingTask task;
    readonly AdamW optimizer;
    Dictionary<string, Tensor>? best;

    public TrainerOptions Options { get; }
    public string OutputDirectory { get; }
    public TrainingState State { get; }
    /// <summary>Something the user should know about this session (e.g. another thread count on resume), or null.</summary>
    public string? Warning { get; }

    Trainer(ITrainingTask task, TrainerOptions options, string outDir, TrainingState state, string? checkpoint)
    {
        options.Validate();
        this.task = task;
        Options = options;
        OutputDirectory = outDir;
        State = state;
        optimizer = AdamWState.Create(task.Model, options.Schedule.At(0).LearningRate, options.Optimizer);
        if (checkpoint is null) return;
        var stateFile = Path.Combine(checkpoint, RunCheckpoints.StateFile);
        if (state.Steps != options.Steps)
            throw new PoNetInputException($"{stateFile}: key 'steps' is {state.Steps}, but the run's settings say {options.Steps}");
        task.LoadModel(checkpoint);
        AdamWState.Restore(task.Model, optimizer, Path.Combine(checkpoint, OptimizerFile), state.OptimizerSteps);
        var bestPath = Path.Combine(checkpoint, BestFile);
        if (File.Exists(bestPath)) best = SafeTensors.Load(bestPath);
        task.RestoreState(state.Task, stateFile);
        if (state.Threads > 0 && state.Threads != torch.get_num_threads())
            Warning = $"the checkpoint was written with {state.Threads} CPU threads, this session has {torch.get_num_threads()}: " +
                      "the run continues correctly but may not be bit-identical to an uninterrupted one";
    }

    /// <summary>A new run in <paramref name="outDir"/>, which must not hold one already.</summary>
    public static Trainer Start(ITrainingTask task, TrainerOptions options, string outDir, string kind)
    {
        if (RunCheckpoints.Exists(outDir))
            throw new PoNetInputException($"{outDir}: already holds a run ({RunCheckpoints.Folder}/); resume it with --resume or choose another --out");
        return new Trainer(task, options, outDir, new TrainingState { Kind = kind, Steps = options.Steps }, null);
    }

    /// <summary>The checkpoint folder and validated state of the run in <paramref name="outDir"/>, to rebuild its task before <see cref="Resume"/>.</summary>
    public static (string Folder, TrainingState State) Latest(string outDir, string kind)
    {
        var dir = RunCheckpoints.Find(outDir)
                  ?? throw new PoNetInputException($"{outDir}: no checkpoint to resume from ({Path.Combine(outDir, RunCheckpoints.Folder, RunCheckpoints.Latest)} is missing)");
        return (dir, TrainingState.Read(Path.Combine(dir, RunCheckpoints.StateFile), kind));
    }

    /// <summary>Continues a run from <paramref name="checkpoint"/> (see <see cref="Latest"/>); the task must be built with the run's saved settings.</summary>
    public static Trainer Resume(ITrainingTask task, TrainerOptions options, string outDir, string checkpoint, TrainingState state) =>
        new(task, options, outDir, state, checkpoint);

    public int Step => State.Step;
    public bool Finished => State.Step >= Options.Steps;
    public IReadOnlyList<MetricsRow> Rows => State.Rows;
    public BestEvaluation? Best => State.Best;

    /// <summary>
    /// Trains until <see cref="TrainerOptions.Steps"/> (or <paramref name="until"/>) steps are done, then
    /// checkpoints. When <paramref name="cancel"/> is set it finishes the current step, checkpoints and
    /// returns <see cref="TrainingOutcome.Cancelled"/>.
    /// </summary>
    public TrainingOutcome Run(IProgress<TrainingProgress>? progress = null, CancellationToken cancel = default, int? until = null)
    {
        int end = Math.Min(until ?? Options.Steps, Options.Steps);
        var clock = new Stopwatch();
        double sessionSeconds = 0, sessionEvalSeconds = 0;
        long sessionTokens = 0;
        int sessionSteps = 0, sessionEvals = 0;
        RunCheckpoints.RemoveTemporaries(OutputDirectory);
        if (Options.EvaluateAtStart && State.Rows.Count == 0)
        {
            clock.Restart();
            var row = new MetricsRow { Step = 0 };
            Evaluate(row);
            State.EvalSeconds += clock.Elapsed.TotalSeconds;
            State.Rows.Add(row);
            progress?.Report(new TrainingProgress(0, Options.Steps, row, 0, TimeSpan.Zero, State.Best));
        }
        while (State.Step < end)
        {
            clock.Restart();
            var row = TrainStep(State.Step);
            double seconds = clock.Elapsed.TotalSeconds;
            State.Step++;
            State.TrainSeconds += seconds;
            sessionSeconds += seconds;
            sessionSteps++;
            long tokens = (long)row.Train.GetValueOrDefault(TokensKey);
            row.Train.Remove(TokensKey);
            State.TrainTokens += tokens;
            sessionTokens += tokens;
            bool evaluate = State.Step % Options.EvalEvery == 0 || State.Step == Options.Steps;
            if (evaluate)
            {
                clock.Restart();
                Evaluate(row);
                double evalSeconds = clock.Elapsed.TotalSeconds;
                State.EvalSeconds += evalSeconds;
                sessionEvalSeconds += evalSeconds;
                sessionEvals++;
            }
            State.Rows.Add(row);
            UpdatePeakMemory();
            bool save = evaluate || State.Step == end || (Options.SaveEvery > 0 && State.Step % Options.SaveEvery == 0);
            if (save) SaveCheckpoint();
            progress?.Report(new TrainingProgress(State.Step, Options.Steps, row, sessionTokens / Math.Max(sessionSeconds, 1e-9),
                Eta(sessionSeconds / sessionSteps, sessionEvals > 0 ? sessionEvalSeconds / sessionEvals : null), State.Best));
            if (cancel.IsCancellationRequested && State.Step < Options.Steps)
            {
                SaveCheckpoint(); // a no-op when this step was just saved
                return TrainingOutcome.Cancelled;
            }
        }
        return TrainingOutcome.Completed;
    }

    /// <summary>Remaining steps at the session's step time plus remaining evaluations at its evaluation time (the first one's, until one was run).</summary>
    TimeSpan Eta(double perStep, double? perEval)
    {
        int remaining = Options.Steps - State.Step;
        int evals = remaining / Options.EvalEvery + (Options.Steps % Options.EvalEvery == 0 ? 0 : 1);
        double evalSeconds = perEval ?? (State.Evaluations > 0 ? State.EvalSeconds / State.Evaluations : perStep);
        return TimeSpan.FromSeconds(perStep * remaining + evalSeconds * (remaining == 0 ? 0 : evals));
    }

    const string TokensKey = "\0tokens";

    MetricsRow TrainStep(int step)
    {
        using var scope = NewDisposeScope();
        var (lr, beta1) = Options.Schedule.At(step);
        AdamWState.Set(optimizer, lr, beta1);
        torch.manual_seed(Seeds.Derive(Seeds.Derive(Options.Seed, 3), step));
        task.BeginStep(step);
        task.Model.train();
        optimizer.zero_grad();
        var sums = new Dictionary<string, double>();
        long tokens = 0;
        for (int micro = 0; micro < Options.Accumulate; micro++)
        {
            using var inner = NewDisposeScope();
            StepOutput output;
            using (Options.BFloat16 ? ComputePrecision.BFloat16() : null)
                output = task.Forward(step, micro, Options.Accumulate);
            (Options.Accumulate == 1 ? output.Loss : output.Loss / Options.Accumulate).backward();
            foreach (var (name, value) in output.Metrics) sums[name] = sums.GetValueOrDefault(name) + value;
            tokens += output.Tokens;
        }
        if (Options.Clip is { } clip) nn.utils.clip_grad_norm_(task.Model.parameters(), clip);
        optimizer.step();
        var train = sums.ToDictionary(p => p.Key, p => p.Value / Options.Accumulate);
        train[TokensKey] = tokens;
        return new MetricsRow { Step = step + 1, LearningRate = lr, Train = train };
    }

    /// <summary>Runs the task's evaluation on the current weights and records it on <paramref name="row"/> (and as the best when it is).</summary>
    void Evaluate(MetricsRow row)
    {
        var evaluation = EvaluateNow();
        row.Dev = evaluation.Metrics.ToDictionary();
        State.Evaluations++;
        if (!Options.TrackBest) return;
        if (State.Best is null || (!double.IsNaN(evaluation.Score) && (double.IsNaN(State.Best.Score) || evaluation.Score > State.Best.Score)))
        {
            State.Best = new BestEvaluation(row.Step, evaluation.Score, row.Dev);
            if (best is not null) foreach (var t in best.Values) t.Dispose();
            best = task.Model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        }
    }

    /// <summary>The task's evaluation of the current weights, in eval mode without gradients.</summary>
    public Evaluation EvaluateNow()
    {
        task.Model.eval();
        try
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            return task.Evaluate();
        }
        finally
        {
            task.Model.train();
        }
    }

    /// <summary>Copies the best evaluation's weights into the model (for testing or saving it); false when none is kept.</summary>
    public bool RestoreBest()
    {
        if (best is null) return false;
        using (no_grad())
            foreach (var (name, target) in task.Model.state_dict())
                target.copy_(best[name]);
        return true;
    }

    /// <summary>Writes the checkpoint of the current step (a no-op when it is already the one in use).</summary>
    public void SaveCheckpoint()
    {
        State.Threads = torch.get_num_threads();
        RunCheckpoints.Save(OutputDirectory, State.Step, dir =>
        {
            task.SaveModel(dir);
            State.OptimizerSteps = AdamWState.Save(task.Model, optimizer, Path.Combine(dir, OptimizerFile));
            if (best is not null) SafeTensors.Save(Path.Combine(dir, BestFile), best);
            State.Task = task.SaveState();
            AtomicFile.WriteAllText(Path.Combine(dir, RunCheckpoints.StateFile), State.ToJson());
        });
        AtomicFile.WriteAllText(Path.Combine(OutputDirectory, MetricsRow.File), MetricsRow.Csv(State.Rows));
    }

    void UpdatePeakMemory()
    {
        if (NativeMemory.PeakResidentMegabytes() is { } peak)
            State.PeakMemoryMb = Math.Max(State.PeakMemoryMb ?? 0, peak);
    }

    public void Dispose()
    {
        optimizer.Dispose();
        if (best is not null) foreach (var t in best.Values) t.Dispose();
    }
}
