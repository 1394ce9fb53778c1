using System.Diagnostics;
using System.Text.Json.Serialization;
using PoNet.Model.Mixers;
using PoNet.Lra;
using PoNet.Model;
using TorchSharp;
using static TorchSharp.torch;
using PoNet.Runtime;

namespace PoNet.Benchmarks;

/// <summary>One benchmark measurement: a mixer at a length, with the model shape around it.</summary>
public sealed record BenchSpec
{
    /// <summary>"lra": the LRA encoder of docs/MODEL.md §6 with any mixer; "bert": the pretrained-layout PoNet of §1 (PoNet only).</summary>
    [JsonPropertyName("arch")] public string Arch { get; init; } = "lra";
    [JsonPropertyName("mixer")] public string Mixer { get; init; } = "ponet";
    [JsonPropertyName("length")] public int Length { get; init; } = 1024;
    [JsonPropertyName("layers")] public int Layers { get; init; } = 2;
    [JsonPropertyName("dim")] public int Dim { get; init; } = 64;
    [JsonPropertyName("heads")] public int Heads { get; init; } = 2;
    [JsonPropertyName("ffn")] public int Ffn { get; init; } = 128;
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 32;
    /// <summary>SMP segment_num of the LRA model (the Text task's 4096).</summary>
    [JsonPropertyName("segments")] public int Segments { get; init; } = 4096;
    [JsonPropertyName("repeats")] public int Repeats { get; init; } = 3;
    /// <summary>Untimed runs first: the first steps still map fresh memory (page faults) until the heap settles.</summary>
    [JsonPropertyName("warmup")] public int Warmup { get; init; } = 3;
    [JsonPropertyName("bf16")] public bool BFloat16 { get; init; }
    [JsonPropertyName("threads")] public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>glibc keeps freed memory (<see cref="NativeMemory.KeepFreedMemory"/>): faster steps, but the peak includes retained free blocks.</summary>
    [JsonPropertyName("keep_freed_memory")] public bool KeepFreedMemory { get; init; } = true;
    /// <summary>PoNet's LRA mixer as one autograd node that recomputes instead of keeping (<see cref="Model.Mixers.PoolingFusion"/>).</summary>
    [JsonPropertyName("low_memory")] public bool LowMemory { get; init; }
    /// <summary>For PoNet also time forward, forward + backward and the same products as plain matmuls (a cell then takes about 3× as long).</summary>
    [JsonPropertyName("breakdown")] public bool Breakdown { get; init; } = true;
}

public sealed record BenchResult
{
    [JsonPropertyName("mixer")] public string Mixer { get; init; } = "";
    [JsonPropertyName("length")] public int Length { get; init; }
    /// <summary>The round (1, 2, …) of a single measurement; null on a cell summarised over rounds.</summary>
    [JsonPropertyName("round"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? Round { get; init; }
    /// <summary>On a summarised cell: the rounds that succeeded, whose medians it reports.</summary>
    [JsonPropertyName("rounds"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? Rounds { get; init; }
    /// <summary>ok, oom (over --max-memory), skipped (over --time-budget, or a shorter length already failed) or error.</summary>
    [JsonPropertyName("status")] public string Status { get; init; } = "ok";
    [JsonPropertyName("detail")] public string? Detail { get; init; }
    [JsonPropertyName("train_steps_per_second")] public double? TrainStepsPerSecond { get; init; }
    [JsonPropertyName("train_step_seconds")] public double? TrainStepSeconds { get; init; }
    /// <summary>Process CPU time (all threads) per training step, median: unlike wall time, barely moved by other jobs on a shared machine.</summary>
    [JsonPropertyName("train_step_cpu_seconds")] public double? TrainStepCpuSeconds { get; init; }
    [JsonPropertyName("forward_seconds")] public double? ForwardSeconds { get; init; }
    [JsonPropertyName("forward_backward_seconds")] public double? ForwardBackwardSeconds { get; init; }
    [JsonPropertyName("infer_tokens_per_second")] public double? InferTokensPerSecond { get; init; }
    /// <summary>Peak resident memory above the process's baseline (runtime + libtorch loaded), max of training and inference.</summary>
    [JsonPropertyName("peak_memory_mb")] public double? PeakMemoryMb { get; init; }
    [JsonPropertyName("train_peak_memory_mb")] public double? TrainPeakMemoryMb { get; init; }
    [JsonPropertyName("infer_peak_memory_mb")] public double? InferPeakMemoryMb { get; init; }
    [JsonPropertyName("baseline_memory_mb")] public double? BaselineMemoryMb { get; init; }
    /// <summary>Model FLOPs (docs/MODEL.md §1 cost model: projections + FFN, 3× forward for training) per second of a training step.</summary>
    [JsonPropertyName("achieved_gflops")] public double? AchievedGflops { get; init; }
    /// <summary>This process's float32 GEMM rate on the model's own projection shape.</summary>
    [JsonPropertyName("matmul_gflops")] public double? MatmulGflops { get; init; }
    /// <summary>The D×D products the implementation runs over all tokens + the FFN, as plain matmuls: forward, and forward + backward.</summary>
    [JsonPropertyName("matmul_forward_seconds")] public double? MatmulForwardSeconds { get; init; }
    [JsonPropertyName("matmul_forward_backward_seconds")] public double? MatmulForwardBackwardSeconds { get; init; }
    [JsonPropertyName("parameters")] public long? Parameters { get; init; }
}

/// <summary>
/// Measures one <see cref="BenchSpec"/> in this process: a training step (forward + backward +
/// AdamW step), a forward pass alone, an inference pass (no autograd) and the peak memory of
/// each, each the median of <see cref="BenchSpec.Repeats"/> after <see cref="BenchSpec.Warmup"/>
/// untimed runs. Run each cell in its own process so peaks and allocator state do not mix.
/// </summary>
public static class BenchCell
{
    /// <summary>The mixers a cell can measure; transformer-explicit is the Transformer with <see cref="AttentionKernel.Explicit"/>.</summary>
    public static readonly IReadOnlyList<string> Mixers = ["ponet", "transformer", "transformer-explicit", "fnet"];

    /// <param name="Projections">D×D projections per layer in the docs/MODEL.md §1 cost model.</param>
    /// <param name="ComputedWidths">
    /// The products per layer the implementation actually runs over all N tokens, as output widths in
    /// units of D, shaped as it runs them: PoNet's L0, S0 and O are one D→3D product, then the output projection D→D.
    /// </param>
    sealed record Subject(nn.Module Model, Func<Tensor, Tensor> Loss, Func<Tensor, Tensor> Infer, int Projections, int[] ComputedWidths);

    public static BenchResult Run(BenchSpec spec)
    {
        torch.set_num_threads(spec.Threads);
        manual_seed(0);
        NativeMemory.ResetPeak();
        var baseline = NativeMemory.ResidentMegabytes() ?? 0;
        var subject = Build(spec);
        var tokens = randint(1, 500, [spec.BatchSize, spec.Length], dtype: ScalarType.Int64);
        var optimizer = optim.AdamW(subject.Model.parameters(), lr: 1e-4, weight_decay: 0);
        using var precision = spec.BFloat16 ? ComputePrecision.BFloat16() : null;

        subject.Model.train();
        double trainPeak = 0;
        var cpuTimes = new List<double>();
        var process = Process.GetCurrentProcess();
        var train = Median(spec, () =>
        {
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            using (var scope = NewDisposeScope())
            {
                optimizer.zero_grad();
                subject.Loss(tokens).backward();
                optimizer.step();
            }
            process.Refresh();
            cpuTimes.Add((process.TotalProcessorTime - cpu).TotalSeconds);
        }, ref trainPeak, baseline);
        // The timed runs are the last Repeats of the calls (after Warmup).
        var trainCpu = BenchSweep.Median(cpuTimes.Skip(spec.Warmup).ToList());
        // Forward and forward + backward alone, and the same layers' products as plain matmuls, only
        // where the cost model applies. Each model run alternates with its plain-matmul counterpart
        // (A B A B …): on a shared machine a burst of load then hits both alike, so the matmuls, a
        // subset of the model's work, cannot read slower than the model because they ran later.
        double? forward = null, forwardBackward = null, matmulForward = null, matmulTrain = null, gemmRate = null;
        if (spec.Mixer == "ponet" && spec.Breakdown)
        {
            using var plain = new PlainMatmuls(spec, subject.ComputedWidths);
            (forward, matmulForward) = Alternating(spec, () => { using var scope = NewDisposeScope(); subject.Loss(tokens); }, plain.Forward);
            (forwardBackward, matmulTrain) = Alternating(spec, () =>
            {
                using var scope = NewDisposeScope();
                subject.Model.zero_grad();
                subject.Loss(tokens).backward();
            }, plain.ForwardBackward);
            gemmRate = plain.GemmGflops();
        }
        subject.Model.eval();
        double inferPeak = 0;
        var infer = Median(spec, () =>
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            subject.Infer(tokens);
        }, ref inferPeak, baseline);

        long tokenCount = (long)spec.BatchSize * spec.Length;
        double trainFlops = 3 * 2.0 * tokenCount * spec.Layers * ((double)subject.Projections * spec.Dim * spec.Dim + 2.0 * spec.Dim * spec.Ffn);
        return new BenchResult
        {
            Mixer = spec.Mixer, Length = spec.Length,
            TrainStepSeconds = train, TrainStepsPerSecond = 1 / train, TrainStepCpuSeconds = trainCpu,
            ForwardSeconds = forward, ForwardBackwardSeconds = forwardBackward,
            InferTokensPerSecond = tokenCount / infer,
            TrainPeakMemoryMb = trainPeak, InferPeakMemoryMb = inferPeak, PeakMemoryMb = Math.Max(trainPeak, inferPeak),
            BaselineMemoryMb = baseline,
            AchievedGflops = spec.Mixer == "ponet" && spec.Breakdown ? trainFlops / train / 1e9 : null, MatmulGflops = gemmRate,
            MatmulForwardSeconds = matmulForward, MatmulForwardBackwardSeconds = matmulTrain,
            Parameters = subject.Model.parameters().Sum(p => p.numel()),
        };
    }

    static Subject Build(BenchSpec spec)
    {
        if (spec.Arch == "bert")
        {
            if (spec.Mixer != "ponet") throw new PoNetInputException($"--arch bert is the pretrained PoNet layout; mixer {spec.Mixer} needs --arch lra");
            var config = new PoNetConfig
            {
                VocabSize = 30522, HiddenSize = spec.Dim, NumHiddenLayers = spec.Layers, NumAttentionHeads = spec.Heads,
                IntermediateSize = spec.Ffn, MaxPositionEmbeddings = Math.Max(512, spec.Length), HiddenDropoutProb = 0.1,
            };
            var model = new PoNetModel(config);
            // Cost model: attention.self's five projections + attention.output.dense. Run per token: L0, S0,
            // O (one fused D→3D product) and the output projection (GA forms Q and K from X's mean, see GlobalAggregation.FromX).
            return new Subject(model, t => model.forward(new PoNetInputs(t)).LastHiddenState.mean(),
                t => model.forward(new PoNetInputs(t)).LastHiddenState, 6, [3, 1]);
        }
        // Bench names are the config names (EnumNames), plus transformer-explicit for the Transformer with explicit attention.
        var mixer = Mixers.Contains(spec.Mixer)
            ? IO.EnumNames.Parse<MixerKind>(spec.Mixer == "transformer-explicit" ? "transformer" : spec.Mixer, "--mixers")
            : throw new PoNetInputException($"unknown mixer '{spec.Mixer}': expected {string.Join(", ", Mixers)}");
        var lra = new LraConfig
        {
            Task = "bench", Mixer = mixer, Layers = spec.Layers, Dim = spec.Dim, Heads = spec.Heads, Ffn = spec.Ffn,
            VocabSize = 512, Classes = 2, MaxLength = spec.Length, Segments = spec.Segments,
            Attention = spec.Mixer == "transformer-explicit" ? AttentionKernel.Explicit : AttentionKernel.Sdpa,
        }.Validate();
        var classifier = LraModel.Create(lra);
        var labels = zeros(spec.BatchSize, dtype: ScalarType.Int64);
        // Each mixer tells its cost-model projections and the products it runs (PoNet: L0, S0, O as one
        // D→3D product and the output projection; Q and K never per token, see GlobalAggregation.FromX).
        var layerMixer = classifier.Encoder.Mixers.First();
        int projections = layerMixer.CostModelProjections;
        int[] computed = [.. layerMixer.ProjectionWidths];
        return new Subject(classifier,
            t => nn.functional.cross_entropy(classifier.forward(new LraBatch(t, null, labels)), labels),
            t => classifier.forward(new LraBatch(t, null, labels)), projections, computed);
    }

    /// <summary>Median seconds of <paramref name="action"/>; <paramref name="peak"/> gets its peak memory above <paramref name="baseline"/>.</summary>
    static double Median(BenchSpec spec, Action action, ref double peak, double baseline)
    {
        // The tensor cache's free blocks from the previous measurement go back to the system, so
        // that each measurement's peak is its own (its warm-up fills the cache again).
        TensorBlockCache.Trim();
        for (int i = 0; i < spec.Warmup; i++) action();
        NativeMemory.ResetPeak();
        var times = new List<double>();
        for (int i = 0; i < spec.Repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        peak = Math.Max(peak, (NativeMemory.PeakResidentMegabytes() ?? 0) - baseline);
        times.Sort();
        return times[times.Count / 2];
    }

    /// <summary>Median seconds of <paramref name="a"/> and of <paramref name="b"/>, run in turns after warm-up.</summary>
    static (double A, double B) Alternating(BenchSpec spec, Action a, Action b)
    {
        TensorBlockCache.Trim();
        for (int i = 0; i < spec.Warmup; i++) { a(); b(); }
        var (timesA, timesB) = (new List<double>(), new List<double>());
        for (int i = 0; i < spec.Repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            a();
            timesA.Add(sw.Elapsed.TotalSeconds);
            sw.Restart();
            b();
            timesB.Add(sw.Elapsed.TotalSeconds);
        }
        return (BenchSweep.Median(timesA), BenchSweep.Median(timesB));
    }

    /// <summary>
    /// The layers' dense algebra alone: per layer the products of <c>widths</c> (D→w·D each, as the
    /// model fuses them: timing a fused product as separate D×D ones would read slower than the model) and the FFN
    /// (D→F→D) on [B·N, D], forward, and forward + backward from a dense upstream gradient (as the
    /// model's backward gets; the gradient of a <c>sum()</c> would be a stride-0 expanded tensor,
    /// which libtorch's matmul backward copies or handles on a slow path). The ratio of the model's
    /// time to these is the cost of everything else (pooling, norms, …).
    /// </summary>
    sealed class PlainMatmuls : IDisposable
    {
        readonly BenchSpec spec;
        readonly Tensor x, w1, w2, square;
        /// <summary>A dense upstream gradient for each output width (in units of D).</summary>
        readonly Dictionary<long, Tensor> upstream = [];
        readonly Tensor[] w;

        public PlainMatmuls(BenchSpec spec, int[] widths)
        {
            this.spec = spec;
            long rows = (long)spec.BatchSize * spec.Length;
            x = randn(rows, spec.Dim, requires_grad: true);
            w = widths.Select(k => randn(k * spec.Dim, spec.Dim, requires_grad: true)).ToArray();
            w1 = randn(spec.Ffn, spec.Dim, requires_grad: true);
            w2 = randn(spec.Dim, spec.Ffn, requires_grad: true);
            foreach (var k in widths.Append(1).Distinct()) upstream[k] = randn(rows, k * spec.Dim);
            square = randn(spec.Dim, spec.Dim);
        }

        List<Tensor> Layers()
        {
            var outputs = new List<Tensor>();
            for (int layer = 0; layer < spec.Layers; layer++)
            {
                foreach (var weight in w) outputs.Add(ComputePrecision.Linear(x, weight, null));
                outputs.Add(ComputePrecision.Linear(ComputePrecision.Linear(x, w1, null), w2, null));
            }
            return outputs;
        }

        public void Forward()
        {
            using var s = NewDisposeScope();
            Layers();
        }

        public void ForwardBackward()
        {
            using var s = NewDisposeScope();
            var outputs = Layers();
            torch.autograd.backward(outputs, outputs.Select(o => upstream[o.shape[1] / spec.Dim]).ToList());
            foreach (var t in w.Append(x).Append(w1).Append(w2)) t.grad?.zero_();
        }

        /// <summary>This process's GEMM rate on [B·N, D]×[D, D], GFLOP/s.</summary>
        public double GemmGflops()
        {
            double ignored = 0;
            var seconds = Median(spec with { Repeats = 5 }, () => { using var s = NewDisposeScope(); using var _ = no_grad(); ComputePrecision.Linear(x, square, null); }, ref ignored, 0);
            return 2.0 * x.shape[0] * spec.Dim * spec.Dim / seconds / 1e9;
        }

        public void Dispose()
        {
            foreach (var t in w.Append(x).Append(w1).Append(w2).Append(square).Concat(upstream.Values)) t.Dispose();
        }
    }
}
