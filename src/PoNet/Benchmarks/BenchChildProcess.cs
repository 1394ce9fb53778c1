using System.Diagnostics;
using System.Text.Json;
using PoNet.Runtime;

namespace PoNet.Benchmarks;

/// <summary>
/// Runs one <see cref="BenchSpec"/> in a child process (so peaks and allocator state never mix
/// between cells), watching its resident memory and its time: over either limit it is stopped and
/// reported oom or skipped. The child is <paramref name="fileName"/> <paramref name="arguments"/>
/// followed by the spec as JSON, and prints one <see cref="BenchResult"/> as a JSON line.
/// </summary>
public static class BenchChildProcess
{
    public static BenchResult Run(BenchSpec spec, string fileName, IReadOnlyList<string> arguments, double maxMemoryMb, double budgetSeconds)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in arguments) start.ArgumentList.Add(arg);
        start.ArgumentList.Add(JsonSerializer.Serialize(spec));
        using var child = Process.Start(start)!;
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (!child.WaitForExit(100))
        {
            var rss = NativeMemory.ResidentMegabytes(child.Id) ?? 0;
            if (rss > maxMemoryMb)
            {
                child.Kill(entireProcessTree: true);
                return new BenchResult { Mixer = spec.Mixer, Length = spec.Length, Status = "oom", Detail = $"resident memory passed --max-memory {maxMemoryMb:F0} MB" };
            }
            if (clock.Elapsed.TotalSeconds > budgetSeconds)
            {
                child.Kill(entireProcessTree: true);
                return new BenchResult { Mixer = spec.Mixer, Length = spec.Length, Status = "skipped", Detail = $"ran past --time-budget {budgetSeconds:F0} s" };
            }
        }
        var line = stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith('{'));
        if (child.ExitCode != 0 || line is null)
        {
            var error = stderr.Result.Trim();
            var oom = error.Contains("alloc", StringComparison.OrdinalIgnoreCase) || error.Contains("out of memory", StringComparison.OrdinalIgnoreCase);
            var firstLine = error.Split('\n').FirstOrDefault(l => l.Trim().Length > 0) ?? $"exit code {child.ExitCode}";
            return new BenchResult { Mixer = spec.Mixer, Length = spec.Length, Status = oom ? "oom" : "error", Detail = firstLine.Trim() };
        }
        return JsonSerializer.Deserialize<BenchResult>(line)!;
    }
}
