using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using PoNet.Checkpoints;
using PoNet.IO;
using PoNet.Runtime;
using PoNet.Export;
using PoNet.Model;
using PoNet.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Cli.Commands;

/// <summary>
/// <c>ponet bench-onnx</c>: inference throughput and peak memory of the same PoNet encoder (same random
/// weights) on libtorch and on ONNX Runtime, in one run, each cell in its own child process.
/// </summary>
internal static class OnnxBenchCommand
{
    /// <summary>One measurement: a model shape, a runtime, a batch.</summary>
    internal sealed record Cell(string Shape, string Runtime, int Batch, int Length, int Threads, int Repeats, string ModelDir, string? Profile, bool Spin);

    internal sealed record CellResult(string Shape, string Runtime, int Batch, int Length, double Seconds, double TokensPerSecond,
        double PeakMb, double ModelMb, string? Profile);

    static PoNetConfig Config(string shape, int maxLength) => shape switch
    {
        // bert-base / ponet-base-uncased; positions extended to the longest length measured.
        "base" => new PoNetConfig { MaxPositionEmbeddings = Math.Max(512, maxLength) },
        // The LRA text shape (docs/MODEL.md §6: D 64, 2 layers, 2 heads, FFN 128) in the pretrained layout.
        "lra" => new PoNetConfig
        {
            VocabSize = 512, HiddenSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 128,
            MaxPositionEmbeddings = Math.Max(512, maxLength),
        },
        _ => throw new PoNetInputException($"--shapes: unknown shape '{shape}'; expected base or lra"),
    };

    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Folder for the models, bench-onnx.json and bench-onnx.md", DefaultValueFactory = _ => "runs/bench-onnx" };
        var shapes = new Option<string>("--shapes") { Description = "base (768 wide, 12 layers) and/or lra (64 wide, 2 layers)", DefaultValueFactory = _ => "base,lra" };
        var lengths = new Option<string>("--lengths") { Description = "Sequence lengths", DefaultValueFactory = _ => "128,512,4096" };
        var batches = new Option<string>("--batch-sizes") { Description = "Batch sizes", DefaultValueFactory = _ => "1,32" };
        var runtimes = new Option<string>("--runtimes") { Description = "torch, onnx (Loop scan) and/or onnx-unrolled (unrolled scan)", DefaultValueFactory = _ => "torch,onnx,onnx-unrolled" };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads for both runtimes", DefaultValueFactory = _ => Environment.ProcessorCount };
        var repeats = new Option<int>("--repeats") { Description = "Timed forward passes per cell (median; after one warm-up)", DefaultValueFactory = _ => 3 };
        var maxTokens = new Option<long>("--max-tokens") { Description = "Skip base-shape cells with more tokens (batch × length) than this", DefaultValueFactory = _ => 4096 };
        var profile = new Option<bool>("--profile") { Description = "Also write ONNX Runtime's per-operator profile of every onnx cell and print the top operators" };
        var spin = new Option<bool>("--spin") { Description = "Let ONNX Runtime's idle threads spin (its default; off here, as libtorch's threads sleep: OMP_WAIT_POLICY=PASSIVE)" };
        var cell = new Option<string?>("--cell") { Hidden = true, Description = "Internal: measure one cell given as JSON and print the result" };
        var command = new Command("bench-onnx", "Inference speed and peak memory: ONNX Runtime against libtorch on the same PoNet weights.");
        foreach (var o in new Option[] { output, shapes, lengths, batches, runtimes, threads, repeats, maxTokens, profile, spin, cell }) command.Options.Add(o);
        command.SetAction(parse => ExitCodes.Run(() =>
        {
            if (parse.GetValue(cell) is { } json) return RunCell(JsonSerializer.Deserialize<Cell>(json)!);
            static int[] Ints(string text, string name) => text.Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Select(t => int.TryParse(t, out var v) && v > 0 ? v : throw new PoNetInputException($"{name} '{t}': expected positive integers")).ToArray();
            var outDir = parse.GetValue(output)!;
            var lengthList = Ints(parse.GetValue(lengths)!, "--lengths");
            var batchList = Ints(parse.GetValue(batches)!, "--batch-sizes");
            var runtimeList = parse.GetValue(runtimes)!.Split(',', StringSplitOptions.RemoveEmptyEntries);
            foreach (var r in runtimeList)
                if (r is not ("torch" or "onnx" or "onnx-unrolled")) throw new PoNetInputException($"--runtimes '{r}': expected torch, onnx or onnx-unrolled");
            var results = new List<CellResult>();
            var skipped = new List<string>();
            foreach (var shape in parse.GetValue(shapes)!.Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                var modelDir = Prepare(outDir, shape, lengthList.Max());
                foreach (var n in lengthList)
                    foreach (var b in batchList)
                    {
                        if (shape == "base" && (long)b * n > parse.GetValue(maxTokens))
                        {
                            skipped.Add($"{shape} batch {b} N {n} (> --max-tokens {parse.GetValue(maxTokens)})");
                            continue;
                        }
                        foreach (var runtime in runtimeList)
                        {
                            var spec = new Cell(shape, runtime, b, n, parse.GetValue(threads), parse.GetValue(repeats), modelDir,
                                parse.GetValue(profile) && runtime != "torch" ? Path.Combine(Path.GetFullPath(outDir), $"profile-{runtime}-{shape}-b{b}-n{n}") : null,
                                parse.GetValue(spin));
                            var result = RunChild(spec);
                            results.Add(result);
                            Console.WriteLine($"{shape} {runtime,-5} batch {b,2} N {n,5}: {result.Seconds:F4} s/forward, {result.TokensPerSecond:F0} tokens/s, " +
                                              $"peak +{result.PeakMb:F0} MB (model {result.ModelMb:F0} MB)");
                            if (result.Profile is { } p) Console.WriteLine(p);
                        }
                    }
            }
            AtomicFile.WriteAllText(Path.Combine(outDir, "bench-onnx.json"), JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
            var table = Table(results, skipped);
            AtomicFile.WriteAllText(Path.Combine(outDir, "bench-onnx.md"), table);
            Console.WriteLine();
            Console.Write(table);
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>A random PoNet (seeded) saved as a checkpoint and exported beside it, once per shape and length.</summary>
    static string Prepare(string outDir, string shape, int maxLength)
    {
        var dir = Path.GetFullPath(Path.Combine(outDir, $"model-{shape}-{maxLength}"));
        if (!File.Exists(Path.Combine(dir, PoNetCheckpoint.ConfigFile)))
        {
            torch.manual_seed(1);
            PoNetCheckpoint.Save(new PoNetForPreTraining(Config(shape, maxLength)), dir);
        }
        foreach (var (file, scan) in new[] { ("model.onnx", SegmentScan.Loop), ("model-unrolled.onnx", SegmentScan.Unrolled) })
            if (!File.Exists(Path.Combine(dir, file)))
                PoNetOnnxExporter.Export(dir, Path.Combine(dir, file), new OnnxExportOptions { Head = OnnxHead.Base, SegmentScan = scan });
        return dir;
    }

    static CellResult RunChild(Cell spec)
    {
        var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var cli = typeof(OnnxBenchCommand).Assembly.Location;
        var apphost = Path.Combine(Path.GetDirectoryName(cli)!, OperatingSystem.IsWindows() ? "ponet.exe" : "ponet");
        if (File.Exists(apphost)) start.FileName = apphost;
        else
        {
            start.FileName = "dotnet";
            start.ArgumentList.Add(cli);
        }
        foreach (var arg in new[] { "bench-onnx", "--cell", JsonSerializer.Serialize(spec) }) start.ArgumentList.Add(arg);
        using var child = Process.Start(start)!;
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        child.WaitForExit();
        if (child.ExitCode != 0)
            throw new InvalidOperationException($"bench-onnx cell {JsonSerializer.Serialize(spec)} failed ({child.ExitCode}): {stderr.Result}");
        var last = stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        return JsonSerializer.Deserialize<CellResult>(last)!;
    }

    static int RunCell(Cell c)
    {
        var config = PoNetConfig.Load(Path.Combine(c.ModelDir, PoNetCheckpoint.ConfigFile));
        var rng = new Random(7);
        long b = c.Batch, n = c.Length;
        var ids = new long[b * n];
        for (int r = 0; r < b; r++)
            for (int t = 0; t < n; t++)
                ids[r * n + t] = t == 0 ? config.ClsTokenId : t == n - 1 || t == n / 2 ? config.SepTokenId : rng.Next(config.SepTokenId + 2, config.VocabSize);
        var mask = Enumerable.Repeat(1L, ids.Length).ToArray();
        var types = new long[ids.Length];
        // The LRA shape gets LRA's segments (docs/MODEL.md §6, the Text task: segment_num 4096, chunks of
        // N / 4096 + 1 positions); the base shape derives them from [CLS]/[SEP] (two halves).
        long[]? segments = null;
        if (c.Shape == "lra")
        {
            long chunk = n / 4096 + 1;
            segments = Enumerable.Range(0, (int)(b * n)).Select(i => i % n / chunk).ToArray();
        }
        double baseline = NativeMemory.ResidentMegabytes() ?? 0;
        Func<double> forward;
        string? profileSummary = null;
        PoNetOnnxModel? onnx = null;
        if (c.Runtime == "torch")
        {
            torch.set_num_threads(c.Threads);
            var (model, _) = PoNetCheckpoint.Load(c.ModelDir, cfg => new PoNetForPreTraining(cfg));
            model.eval();
            var inputs = new PoNetInputs(tensor(ids, [b, n]), tensor(mask, [b, n]), tensor(types, [b, n]),
                segments is null ? null : tensor(segments, [b, n]));
            forward = () =>
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var sw = Stopwatch.StartNew();
                var output = model.Encoder.forward(inputs);
                _ = output.LastHiddenState.data<float>()[0];
                return sw.Elapsed.TotalSeconds;
            };
        }
        else
        {
            onnx = PoNetOnnxModel.Load(Path.Combine(c.ModelDir, c.Runtime == "onnx-unrolled" ? "model-unrolled.onnx" : "model.onnx"),
                new PoNetOnnxOptions { Threads = c.Threads, ProfilePrefix = c.Profile, AllowSpinning = c.Spin });
            var batch = new PoNetOnnxBatch(c.Batch, c.Length, ids, mask, types, segments);
            forward = () =>
            {
                var sw = Stopwatch.StartNew();
                onnx.Run(batch, ["last_hidden_state", "pooler_output"]);
                return sw.Elapsed.TotalSeconds;
            };
        }
        double loaded = NativeMemory.ResidentMegabytes() ?? 0;
        NativeMemory.ResetPeak();
        forward(); // warm-up (ONNX Runtime plans its memory on the first run)
        var times = Enumerable.Range(0, c.Repeats).Select(_ => forward()).Order().ToArray();
        double peak = (NativeMemory.PeakResidentMegabytes() ?? 0) - loaded;
        if (onnx is not null && c.Profile is not null) profileSummary = SummarizeProfile(onnx.EndProfiling());
        onnx?.Dispose();
        double median = times[times.Length / 2];
        Console.WriteLine(JsonSerializer.Serialize(new CellResult(c.Shape, c.Runtime, c.Batch, c.Length, median, b * n / median,
            peak, loaded - baseline, profileSummary)));
        return ExitCodes.Ok;
    }

    /// <summary>Total time per operator type over the profiled runs, largest first.</summary>
    static string SummarizeProfile(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var byOp = new Dictionary<string, double>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            if (!e.TryGetProperty("cat", out var cat) || cat.GetString() != "Node") continue;
            if (!e.TryGetProperty("name", out var name) || !name.GetString()!.EndsWith("_kernel_time", StringComparison.Ordinal)) continue;
            var op = e.GetProperty("args").TryGetProperty("op_name", out var o) ? o.GetString()! : "?";
            byOp[op] = byOp.GetValueOrDefault(op) + e.GetProperty("dur").GetDouble();
        }
        double total = byOp.Values.Sum();
        return $"  profile {path}: " + string.Join(", ", byOp.OrderByDescending(p => p.Value).Take(8)
            .Select(p => $"{p.Key} {100 * p.Value / total:F0}%"));
    }

    static string Table(List<CellResult> results, List<string> skipped)
    {
        var text = new StringBuilder();
        text.AppendLine("| shape | batch | N | libtorch s/forward | ORT (Loop scan) s/forward | ORT (unrolled scan) s/forward | ORT Loop ÷ libtorch speed | libtorch peak MB | ORT Loop peak MB | ORT unrolled peak MB |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var g in results.GroupBy(r => (r.Shape, r.Batch, r.Length)))
        {
            var t = g.FirstOrDefault(r => r.Runtime == "torch");
            var o = g.FirstOrDefault(r => r.Runtime == "onnx");
            var u = g.FirstOrDefault(r => r.Runtime == "onnx-unrolled");
            string F(double? v, string f) => v is double x ? x.ToString(f, CultureInfo.InvariantCulture) : "–";
            text.AppendLine($"| {g.Key.Shape} | {g.Key.Batch} | {g.Key.Length} | {F(t?.Seconds, "F4")} | {F(o?.Seconds, "F4")} | {F(u?.Seconds, "F4")} | " +
                            $"{(t is not null && o is not null ? F(t.Seconds / o.Seconds, "F2") + "×" : "–")} | {F(t?.PeakMb, "F0")} | {F(o?.PeakMb, "F0")} | {F(u?.PeakMb, "F0")} |");
        }
        foreach (var s in skipped) text.AppendLine($"skipped: {s}");
        return text.ToString();
    }
}
