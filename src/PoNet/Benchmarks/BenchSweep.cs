using System.Text.Json.Serialization;

namespace PoNet.Benchmarks;

/// <summary>What <see cref="BenchSweep"/> measures: every mixer at every length, <see cref="Rounds"/> times.</summary>
public sealed record BenchSweepPlan
{
    /// <summary>The model shape and measurement settings; its Mixer and Length are set per cell.</summary>
    public BenchSpec Spec { get; init; } = new();
    public IReadOnlyList<string> Mixers { get; init; } = ["ponet", "transformer", "fnet"];
    public IReadOnlyList<int> Lengths { get; init; } = [512, 1024, 2048, 4096, 8192, 16384];
    /// <summary>Times every cell is measured; the mixers take turns within a round (A B A B …) so that drift of a shared machine hits them alike.</summary>
    public int Rounds { get; init; } = 1;
}

/// <summary>A ratio of PoNet to a baseline at one length: the median of the per-round ratios and their spread.</summary>
public sealed record BenchRatio
{
    [JsonPropertyName("mixer")] public string Mixer { get; init; } = "";
    [JsonPropertyName("baseline")] public string Baseline { get; init; } = "";
    [JsonPropertyName("length")] public int Length { get; init; }
    [JsonPropertyName("measure")] public string Measure { get; init; } = "";
    [JsonPropertyName("median")] public double Median { get; init; }
    [JsonPropertyName("min")] public double Min { get; init; }
    [JsonPropertyName("max")] public double Max { get; init; }
    /// <summary>One ratio per round in which both cells were measured, in round order.</summary>
    [JsonPropertyName("rounds")] public IReadOnlyList<double> PerRound { get; init; } = [];
}

public sealed record BenchSweepResult(
    IReadOnlyList<BenchResult> Cells, IReadOnlyList<BenchResult> RoundCells, IReadOnlyList<BenchRatio> Ratios);

/// <summary>
/// The benchmark sweep: runs each mixer × length cell (through <paramref name="runCell"/>, normally a
/// child process per cell) for every round, interleaving the mixers at each length, and summarises:
/// per cell the median of each measurement over its rounds, and per length the ratios PoNet ÷ each
/// baseline (training steps/s and peak memory) computed within each round, as median and min–max.
/// Once a mixer fails (oom, over the time budget, error) at a length, its longer lengths are not run.
/// </summary>
public sealed class BenchSweep(Func<BenchSpec, BenchResult> runCell, Action<BenchResult>? onCell = null)
{
    public const string Subject = "ponet";

    public BenchSweepResult Run(BenchSweepPlan plan)
    {
        if (plan.Rounds < 1) throw new PoNetInputException($"--rounds is {plan.Rounds}; expected 1 or more");
        var lengths = plan.Lengths.Order().ToList();
        var failed = new Dictionary<string, (int Length, string Status)>();
        var roundCells = new List<BenchResult>();
        for (int round = 1; round <= plan.Rounds; round++)
            foreach (var length in lengths)
                foreach (var mixer in plan.Mixers)
                {
                    BenchResult result;
                    if (failed.TryGetValue(mixer, out var failure) && failure.Length <= length)
                        result = new BenchResult
                        {
                            Mixer = mixer, Length = length, Status = failure.Status == "oom" ? "oom" : "skipped",
                            Detail = failure.Length == length ? $"{failure.Status} in an earlier round" : $"a shorter length was {failure.Status}",
                        };
                    else
                    {
                        result = runCell(plan.Spec with { Mixer = mixer, Length = length });
                        if (result.Status != "ok" && !failed.ContainsKey(mixer)) failed[mixer] = (length, result.Status);
                    }
                    result = result with { Round = round };
                    roundCells.Add(result);
                    onCell?.Invoke(result);
                }

        var cells = new List<BenchResult>();
        foreach (var mixer in plan.Mixers)
            foreach (var length in lengths)
                cells.Add(Summarise(roundCells.Where(c => c.Mixer == mixer && c.Length == length).ToList()));
        var ratios = new List<BenchRatio>();
        if (plan.Mixers.Contains(Subject))
            foreach (var baseline in plan.Mixers.Where(m => m != Subject))
                foreach (var length in lengths)
                {
                    var pairs = Enumerable.Range(1, plan.Rounds)
                        .Select(r => (Cell(roundCells, Subject, length, r), Cell(roundCells, baseline, length, r)))
                        .Where(p => p.Item1 is { Status: "ok" } && p.Item2 is { Status: "ok" })
                        .Select(p => (p.Item1!, p.Item2!)).ToList();
                    if (pairs.Count == 0) continue;
                    ratios.Add(Ratio(baseline, length, "train_steps_per_second", pairs.Select(p => p.Item1.TrainStepsPerSecond!.Value / p.Item2.TrainStepsPerSecond!.Value)));
                    // Throughput in CPU time: baseline CPU seconds per step ÷ PoNet's.
                    if (pairs.All(p => p.Item1.TrainStepCpuSeconds > 0 && p.Item2.TrainStepCpuSeconds > 0))
                        ratios.Add(Ratio(baseline, length, "train_steps_per_cpu_second", pairs.Select(p => p.Item2.TrainStepCpuSeconds!.Value / p.Item1.TrainStepCpuSeconds!.Value)));
                    if (pairs.All(p => p.Item2.PeakMemoryMb > 0))
                        ratios.Add(Ratio(baseline, length, "peak_memory_mb", pairs.Select(p => p.Item1.PeakMemoryMb!.Value / p.Item2.PeakMemoryMb!.Value)));
                }
        return new BenchSweepResult(cells, roundCells, ratios);
    }

    static BenchResult? Cell(List<BenchResult> cells, string mixer, int length, int round) =>
        cells.FirstOrDefault(c => c.Mixer == mixer && c.Length == length && c.Round == round);

    static BenchRatio Ratio(string baseline, int length, string measure, IEnumerable<double> perRound)
    {
        var values = perRound.ToList();
        return new BenchRatio
        {
            Mixer = Subject, Baseline = baseline, Length = length, Measure = measure,
            Median = Median(values), Min = values.Min(), Max = values.Max(), PerRound = values,
        };
    }

    /// <summary>The median of an odd count; the mean of the middle two of an even count.</summary>
    public static double Median(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("no values", nameof(values));
        var sorted = values.Order().ToList();
        int mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>One row per cell: each measurement's median over the rounds it succeeded in; a cell that never succeeded keeps its first failure.</summary>
    static BenchResult Summarise(List<BenchResult> rounds)
    {
        var ok = rounds.Where(r => r.Status == "ok").ToList();
        if (ok.Count == 0) return rounds[0] with { Round = null, Rounds = 0 };
        double? M(Func<BenchResult, double?> f)
        {
            var values = ok.Select(f).Where(v => v.HasValue).Select(v => v!.Value).ToList();
            return values.Count == 0 ? null : Median(values);
        }
        var trainSeconds = M(r => r.TrainStepSeconds);
        return ok[0] with
        {
            Round = null, Rounds = ok.Count,
            Detail = ok.Count == rounds.Count ? null : $"{rounds.Count - ok.Count} of {rounds.Count} rounds failed",
            TrainStepSeconds = trainSeconds, TrainStepsPerSecond = M(r => r.TrainStepsPerSecond), TrainStepCpuSeconds = M(r => r.TrainStepCpuSeconds),
            ForwardSeconds = M(r => r.ForwardSeconds), ForwardBackwardSeconds = M(r => r.ForwardBackwardSeconds),
            InferTokensPerSecond = M(r => r.InferTokensPerSecond),
            PeakMemoryMb = M(r => r.PeakMemoryMb), TrainPeakMemoryMb = M(r => r.TrainPeakMemoryMb), InferPeakMemoryMb = M(r => r.InferPeakMemoryMb),
            BaselineMemoryMb = M(r => r.BaselineMemoryMb), AchievedGflops = M(r => r.AchievedGflops), MatmulGflops = M(r => r.MatmulGflops),
            MatmulForwardSeconds = M(r => r.MatmulForwardSeconds), MatmulForwardBackwardSeconds = M(r => r.MatmulForwardBackwardSeconds),
        };
    }
}
