using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using PoNet.Benchmarks;
using PoNet.Cli.Plots;
using Spectre.Console;
using PoNet.IO;
using PoNet.Model.Mixers;
using PoNet.Runtime;

namespace PoNet.Cli.Commands;

/// <summary>
/// <c>ponet bench</c>: speed and memory against sequence length for each mixer, the paper's Table 2
/// measured on this machine. Every mixer × length cell runs in a child process of its own.
/// </summary>
internal static class BenchCommand
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static Command Create()
    {
        var mixers = new Option<string>("--mixers") { Description = "Comma-separated: ponet, transformer (libtorch's fused attention), transformer-explicit (softmax(QKᵀ)V in memory, as the paper's baseline), fnet", DefaultValueFactory = _ => "ponet,transformer,fnet" };
        var lengths = new Option<string>("--lengths") { Description = "Comma-separated sequence lengths", DefaultValueFactory = _ => "512,1024,2048,4096,8192,16384" };
        var arch = new Option<string>("--arch") { Description = "lra: the LRA encoder (docs/MODEL.md §6); bert: the pretrained PoNet layout (§1, ponet only)", DefaultValueFactory = _ => "lra" };
        arch.AcceptOnlyFromAmong("lra", "bert");
        var layers = new Option<int>("--layers") { DefaultValueFactory = _ => 2 };
        var dim = new Option<int>("--dim") { DefaultValueFactory = _ => 64 };
        var heads = new Option<int>("--heads") { DefaultValueFactory = _ => 2 };
        var ffn = new Option<int>("--ffn") { DefaultValueFactory = _ => 128 };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 32 };
        var segments = new Option<int>("--segments") { Description = "PoNet segment_num (LRA Text: 4096)", DefaultValueFactory = _ => 4096 };
        var rounds = new Option<int>("--rounds") { Description = "Times to measure every cell, the mixers taking turns at each length (A B A B …); ratios are per round, reported as median and min–max", DefaultValueFactory = _ => 1 };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs per measurement (the median is reported)", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount };
        var bf16 = new Option<bool>("--bf16") { Description = "Matrix products in bfloat16 (mixed precision)" };
        var keepFreed = new Option<bool>("--keep-freed-memory")
        {
            Description = "Keep freed memory in the process (glibc mallopt): faster steps; false measures peak memory without retained free blocks",
            DefaultValueFactory = _ => true,
        };
        var lowMemory = new Option<bool>("--low-memory")
        {
            Description = "PoNet's LRA mixer keeps less for backward and recomputes it (docs/MODEL.md §10.8): smaller peak, more CPU time",
        };
        var breakdown = new Option<bool>("--breakdown")
        {
            Description = "For PoNet also time forward, forward + backward and the same products as plain matmuls; false makes PoNet cells about 3× shorter (for ratio rounds)",
            DefaultValueFactory = _ => true,
        };
        var maxMemory = new Option<double>("--max-memory") { Description = "MB of resident memory a cell may use before it is stopped and reported oom", DefaultValueFactory = _ => 16000 };
        var timeBudget = new Option<double>("--time-budget") { Description = "Seconds a cell may run before it is stopped and reported skipped", DefaultValueFactory = _ => 300 };
        var output = new Option<string>("--out") { Description = "Output folder", DefaultValueFactory = _ => "runs/bench" };
        var cell = new Option<string?>("--cell") { Hidden = true, Description = "Internal: measure one cell given as JSON and print the result" };
        var command = new Command("bench", "Training steps/s, inference tokens/s and peak memory against sequence length: PoNet vs Transformer vs FNet.")
        {
            mixers, lengths, arch, layers, dim, heads, ffn, batch, segments, repeats, rounds, threads, bf16, keepFreed, lowMemory, breakdown, maxMemory, timeBudget, output, cell,
        };
        command.SetAction(parse => ExitCodes.Run(() =>
        {
            if (parse.GetValue(cell) is { } json)
                return MeasureOneCell(json);
            var spec = new BenchSpec
            {
                Arch = parse.GetValue(arch)!, Layers = parse.GetValue(layers), Dim = parse.GetValue(dim), Heads = parse.GetValue(heads),
                Ffn = parse.GetValue(ffn), BatchSize = parse.GetValue(batch), Segments = parse.GetValue(segments),
                Repeats = parse.GetValue(repeats), Threads = parse.GetValue(threads), BFloat16 = parse.GetValue(bf16),
                KeepFreedMemory = parse.GetValue(keepFreed), LowMemory = parse.GetValue(lowMemory), Breakdown = parse.GetValue(breakdown),
            };
            var mixerList = SplitList(parse.GetValue(mixers)!, "--mixers");
            foreach (var m in mixerList)
                if (!BenchCell.Mixers.Contains(m))
                    throw new PoNetInputException($"--mixers: '{m}' is not one of {string.Join(", ", BenchCell.Mixers)}");
            var lengthList = SplitList(parse.GetValue(lengths)!, "--lengths").Select(l =>
                int.TryParse(l, out var n) && n > 0 ? n : throw new PoNetInputException($"--lengths: '{l}' is not a positive integer")).ToList();
            if (spec.Dim % spec.Heads != 0) throw new PoNetInputException($"--dim {spec.Dim} is not divisible by --heads {spec.Heads}");
            var plan = new BenchSweepPlan { Spec = spec, Mixers = mixerList, Lengths = lengthList, Rounds = parse.GetValue(rounds) };
            return RunAll(plan, parse.GetValue(maxMemory), parse.GetValue(timeBudget), parse.GetValue(output)!);
        }));
        return command;
    }

    static List<string> SplitList(string value, string option)
    {
        var items = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => s.ToLowerInvariant()).ToList();
        return items.Count > 0 ? items : throw new PoNetInputException($"{option}: expected a comma-separated list");
    }

    static int MeasureOneCell(string json)
    {
        var spec = JsonSerializer.Deserialize<BenchSpec>(json) ?? throw new PoNetInputException("--cell: empty specification");
        if (spec.KeepFreedMemory) NativeMemory.KeepFreedMemory();
        else NativeMemory.ReturnFreedMemory();
        PoolingFusion.Enabled = spec.LowMemory;
        var result = BenchCell.Run(spec);
        Console.WriteLine(JsonSerializer.Serialize(result));
        return ExitCodes.Ok;
    }

    static int RunAll(BenchSweepPlan plan, double maxMemoryMb, double budgetSeconds, string outDir)
    {
        var spec = plan.Spec;
        Console.Error.WriteLine($"bench: {spec.Arch} model, {spec.Layers} layers, D {spec.Dim}, {spec.Heads} heads, FFN {spec.Ffn}, batch {spec.BatchSize}, " +
                                $"{spec.Threads} threads{(spec.BFloat16 ? ", bf16 matmuls" : "")}{(spec.KeepFreedMemory ? ", freed memory kept" : "")}{(spec.LowMemory ? ", --low-memory" : "")}; each cell in its own process, median of {spec.Repeats}" +
                                (plan.Rounds > 1 ? $"; {plan.Rounds} rounds, mixers interleaved within each" : ""));
        var (fileName, arguments) = ChildCommand();
        var sweep = new BenchSweep(
            cell => BenchChildProcess.Run(cell, fileName, arguments, maxMemoryMb, budgetSeconds),
            result => Console.Error.WriteLine(result.Status == "ok"
                ? string.Create(CultureInfo.InvariantCulture, $"  {Round(result, plan)}{result.Mixer,-11} N {result.Length,6}: {result.TrainStepsPerSecond:F3} train steps/s, {result.InferTokensPerSecond / 1000:F1}k infer tokens/s, peak {result.PeakMemoryMb:F0} MB")
                : $"  {Round(result, plan)}{result.Mixer,-11} N {result.Length,6}: {result.Status} ({result.Detail})"));
        var outcome = sweep.Run(plan);
        Directory.CreateDirectory(outDir);
        var document = new
        {
            spec = spec with { Mixer = "", Length = 0 }, rounds = plan.Rounds, max_memory_mb = maxMemoryMb, time_budget_seconds = budgetSeconds,
            cells = outcome.Cells, ratios = outcome.Ratios, round_cells = outcome.RoundCells,
        };
        AtomicFile.WriteAllText(Path.Combine(outDir, "bench.json"), JsonSerializer.Serialize(document, Json));
        AtomicFile.WriteAllText(Path.Combine(outDir, "bench.csv"), Csv(outcome.Cells));
        if (TrainingCurves.MissingFontWarning() is { } noFont) Console.Error.WriteLine($"ponet: warning: {noFont}");
        BenchPlot.SavePng(outcome.Cells, Path.Combine(outDir, "bench.png"), $"{spec.Arch} · {spec.Layers}×D{spec.Dim} · batch {spec.BatchSize}");
        PrintTables(outcome, plan);
        Console.WriteLine($"wrote {Path.Combine(outDir, "bench.json")}, bench.csv and bench.png");
        return ExitCodes.Ok;
    }

    static string Round(BenchResult result, BenchSweepPlan plan) => plan.Rounds > 1 ? $"round {result.Round}/{plan.Rounds} " : "";

    /// <summary>This CLI's own executable (also when the caller is another host, e.g. a test runner), asked to measure one cell.</summary>
    static (string FileName, string[] Arguments) ChildCommand()
    {
        var cli = typeof(BenchCommand).Assembly.Location;
        var apphost = Path.Combine(Path.GetDirectoryName(cli)!, OperatingSystem.IsWindows() ? "ponet.exe" : "ponet");
        return File.Exists(apphost) ? (apphost, ["bench", "--cell"]) : ("dotnet", [cli, "bench", "--cell"]);
    }

    static string Csv(IEnumerable<BenchResult> results)
    {
        var sb = new StringBuilder("mixer,length,status,rounds,train_steps_per_second,train_step_cpu_seconds,infer_tokens_per_second,peak_memory_mb,forward_seconds,forward_backward_seconds,achieved_gflops,matmul_gflops,matmul_forward_seconds,matmul_forward_backward_seconds\n");
        static string F(double? v) => v?.ToString("G6", CultureInfo.InvariantCulture) ?? "";
        foreach (var r in results)
            sb.AppendLine(string.Join(",", r.Mixer, r.Length.ToString(CultureInfo.InvariantCulture), r.Status, r.Rounds?.ToString(CultureInfo.InvariantCulture) ?? "", F(r.TrainStepsPerSecond), F(r.TrainStepCpuSeconds), F(r.InferTokensPerSecond),
                F(r.PeakMemoryMb), F(r.ForwardSeconds), F(r.ForwardBackwardSeconds), F(r.AchievedGflops), F(r.MatmulGflops), F(r.MatmulForwardSeconds), F(r.MatmulForwardBackwardSeconds)));
        return sb.ToString();
    }

    /// <summary>Shaped like the paper's Table 2: one row per mixer, one column per length, ratios to the Transformer where it was measured.</summary>
    static void PrintTables(BenchSweepResult outcome, BenchSweepPlan plan)
    {
        var (results, mixers, lengths) = (outcome.Cells, plan.Mixers, plan.Lengths.Order().ToList());
        // A console for the current Console.Out (AnsiConsole.Console keeps the writer it first saw).
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        // Written to a file or pipe, Spectre assumes 80 columns and wraps the mixer names; a file has no width.
        if (Console.IsOutputRedirected) console.Profile.Width = 160;
        BenchResult? Cell(string mixer, int length) => results.FirstOrDefault(r => r.Mixer == mixer && r.Length == length);
        string Header(int n) => n >= 1024 && n % 1024 == 0 ? $"{n / 1024}K" : n.ToString(CultureInfo.InvariantCulture);
        bool versusTransformer = mixers.Contains("transformer") && mixers.Count > 1;
        if (plan.Rounds > 1)
            console.WriteLine($"Each cell: the median over {plan.Rounds} rounds; ratios: per round, then median (min–max).");
        void Table(string title, Func<BenchResult, double?> value, string format)
        {
            var table = new Table().Title(title + (versusTransformer ? " (× Transformer)" : ""));
            table.AddColumn("mixer");
            foreach (var n in lengths) table.AddColumn(new TableColumn(Header(n)).RightAligned());
            foreach (var mixer in mixers)
            {
                var row = new List<string> { mixer };
                foreach (var n in lengths)
                {
                    var c = Cell(mixer, n);
                    if (c is null || c.Status != "ok") { row.Add(c?.Status.ToUpperInvariant() ?? "-"); continue; }
                    var text = value(c)!.Value.ToString(format, CultureInfo.InvariantCulture);
                    var baseline = Cell("transformer", n);
                    if (versusTransformer && mixer != "transformer" && baseline is { Status: "ok" } && value(baseline) is > 0)
                        text += $" ({value(c)!.Value / value(baseline)!.Value:F2}×)";
                    row.Add(text);
                }
                table.AddRow(row.Select(Markup.Escape).ToArray());
            }
            console.Write(table);
        }
        Table("training steps/s", r => r.TrainStepsPerSecond, "F3");
        Table("inference tokens/s", r => r.InferTokensPerSecond, "F0");
        Table("peak memory, MB above baseline", r => r.PeakMemoryMb, "F0");
        if (outcome.Ratios.Count > 0)
        {
            // The targets of the README in one place: PoNet against each baseline, per length, each
            // ratio taken within a round (the cells ran back to back) and summarised over rounds.
            var versus = new Table().Title("PoNet ÷ baseline");
            versus.AddColumn("baseline");
            versus.AddColumn("measure");
            foreach (var n in lengths) versus.AddColumn(new TableColumn(Header(n)).RightAligned());
            foreach (var other in mixers.Where(m => m != BenchSweep.Subject))
                foreach (var (measure, label) in new[] { ("train_steps_per_second", "training steps/s"), ("train_steps_per_cpu_second", "training steps per CPU s"), ("peak_memory_mb", "peak memory") })
                {
                    var row = new List<string> { other, label };
                    foreach (var n in lengths)
                    {
                        var r = outcome.Ratios.FirstOrDefault(x => x.Baseline == other && x.Length == n && x.Measure == measure);
                        row.Add(r is null ? "-" : plan.Rounds > 1 && r.PerRound.Count > 1
                            ? string.Create(CultureInfo.InvariantCulture, $"{r.Median:F2}× ({r.Min:F2}–{r.Max:F2})")
                            : string.Create(CultureInfo.InvariantCulture, $"{r.Median:F2}×"));
                    }
                    versus.AddRow(row.Select(Markup.Escape).ToArray());
                }
            console.Write(versus);
        }
        if (results.Any(r => r.Mixer == "ponet" && r.Status == "ok" && r.ForwardSeconds is not null))
        {
            var flops = new Table().Title("PoNet: model FLOP rate vs this machine's matmul rate (same process)");
            foreach (var h in new[] { "N", "achieved GFLOP/s", "matmul GFLOP/s", "fwd s", "matmuls fwd s", "fwd+bwd s", "matmuls fwd+bwd s" })
                flops.AddColumn(new TableColumn(h).RightAligned());
            foreach (var r in results.Where(r => r.Mixer == "ponet" && r.Status == "ok" && r.ForwardSeconds is not null))
                flops.AddRow(new[] { r.Length.ToString(CultureInfo.InvariantCulture), $"{r.AchievedGflops:F1}", $"{r.MatmulGflops:F1}", $"{r.ForwardSeconds:F3}",
                    $"{r.MatmulForwardSeconds:F3}", $"{r.ForwardBackwardSeconds:F3}", $"{r.MatmulForwardBackwardSeconds:F3}" });
            console.Write(flops);
        }
    }
}
