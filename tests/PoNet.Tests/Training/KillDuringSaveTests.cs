using System.Diagnostics;
using PoNet.Model.Mixers;
using PoNet.Tests.Transfer;
using PoNet.Training;
using Xunit;
using static PoNet.Tests.Tokenization.TokenizerTestData;

namespace PoNet.Tests.Training;

/// <summary>
/// A checkpoint survives a kill at every instant of a save: each training command runs as a child
/// process that kills itself (as kill -9: no clean-up) at a chosen point of the save sequence
/// (<see cref="RunCheckpoints.Stages"/>, through PONET_KILL_AT_SAVE_STAGE), then is resumed with
/// --resume, and must end bit for bit where an uninterrupted run ends: same final weights, same
/// metrics.csv, same results. Every run uses one thread (results are reproducible for a fixed count).
/// </summary>
public class KillDuringSaveTests
{
    static readonly string Ponet = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "ponet.exe" : "ponet");

    static (int Code, string Output) Child(string? killAt, params string[] args)
    {
        var start = new ProcessStartInfo(Ponet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove("PONET_KILL_AT_SAVE_STAGE");
        if (killAt is not null) start.Environment["PONET_KILL_AT_SAVE_STAGE"] = killAt;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3))) process.Kill();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    static readonly string[] Lra =
        ["lra", "synthetic", "--steps", "6", "--eval-every", "2", "--max-length", "24", "--dim", "16", "--ffn", "32", "--layers", "1",
         "--batch-size", "8", "--segments", "4", "--threads", "1"];

    static readonly Lazy<string> LraReference = new(() =>
    {
        var dir = TransferTestData.Temp("ponet-kill-ref-");
        var (code, output) = Child(null, [.. Lra, "--out", dir]);
        Assert.True(code == 0, output);
        return dir;
    });

    static byte[] Final(string run, string file) =>
        File.ReadAllBytes(Path.Combine(RunCheckpoints.Find(run)!, file));

    /// <summary>Killed at a stage of the first save (no checkpoint before it) or of the second (one before it).</summary>
    public static TheoryData<string, int> Kills()
    {
        var data = new TheoryData<string, int>();
        foreach (var stage in RunCheckpoints.Stages) data.Add(stage, 2);
        data.Add("written", 1);
        data.Add("renamed", 1);
        return data;
    }

    [Theory]
    [MemberData(nameof(Kills))]
    public void LraResumesBitwiseAfterAKillAtEveryStageOfASave(string stage, int save)
    {
        var reference = LraReference.Value;
        var dir = TransferTestData.Temp("ponet-kill-");
        var (code, output) = Child($"{stage}:{save}", [.. Lra, "--out", dir]);
        Assert.True(code != 0, $"the child was not killed at {stage}:{save}: {output}");
        Assert.False(File.Exists(Path.Combine(dir, "results.json")));

        var checkpoint = RunCheckpoints.Find(dir);
        if (checkpoint is null)
        {
            // Killed before the first checkpoint was complete: nothing to resume, and nothing half-written is taken for one.
            Assert.True(save == 1 && stage is "begin" or "written", $"no checkpoint after a kill at {stage}:{save}");
            (code, output) = Child(null, [.. Lra, "--out", dir]);
        }
        else
        {
            // No --threads: a resume takes the thread count the checkpoint was written with.
            (code, output) = Child(null, "lra", "synthetic", "--out", dir, "--resume");
            Assert.Contains("resuming with 1 CPU thread(s)", output);
        }
        Assert.True(code == 0, output);
        Assert.Equal(File.ReadAllText(Path.Combine(reference, "metrics.csv")), File.ReadAllText(Path.Combine(dir, "metrics.csv")));
        Assert.Equal(Final(reference, Trainer.ModelFile), Final(dir, Trainer.ModelFile));
        Assert.Equal(Final(reference, Trainer.OptimizerFile), Final(dir, Trainer.OptimizerFile));
        var a = File.ReadAllText(Path.Combine(reference, "results.json"));
        var b = File.ReadAllText(Path.Combine(dir, "results.json"));
        Assert.Equal(Scores(a), Scores(b));
        // What the killed save left behind is gone.
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(dir, RunCheckpoints.Folder), ".*"));
    }

    static string Scores(string resultsJson)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(resultsJson)!;
        return string.Join(",", new[] { "best_step", "dev_accuracy", "dev_loss", "test_accuracy", "test_loss" }.Select(k => json[k]!.ToJsonString()));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PretrainResumesBitwiseAfterAKillDuringASave(bool bf16)
    {
        var corpus = TransferTestData.NumberedCorpus(documents: 40, maxSentences: 12);
        string[] args = ["pretrain", "--corpus", corpus, "--vocab", VocabPath, "--layers", "1", "--hidden", "16", "--heads", "2", "--ffn", "32",
            "--max-length", "32", "--steps", "8", "--batch-size", "4", "--lr", "1e-2", "--warmup", "2", "--eval-every", "3", "--eval-examples", "8",
            "--held-out-every", "5", "--shuffle-buffer", "50", "--threads", "1", .. (bf16 ? new[] { "--bf16" } : [])];
        string whole = TransferTestData.Temp(), split = TransferTestData.Temp();
        var (code, output) = Child(null, [.. args, "--out", whole]);
        Assert.True(code == 0, output);
        (code, output) = Child("renamed:2", [.. args, "--out", split]);
        Assert.True(code != 0, output);
        Assert.Equal(RunCheckpoints.StepFolderName(3), Path.GetFileName(RunCheckpoints.Find(split)));
        (code, output) = Child(null, "pretrain", "--out", split, "--resume", "--threads", "1");
        Assert.True(code == 0, output);
        Assert.Equal(File.ReadAllText(Path.Combine(whole, "metrics.csv")), File.ReadAllText(Path.Combine(split, "metrics.csv")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "model", "model.safetensors")), File.ReadAllBytes(Path.Combine(split, "model", "model.safetensors")));
    }

    [Fact]
    public void FinetuneResumesBitwiseAfterAKillDuringASave()
    {
        string train = FineTuneData("train.jsonl", 24), dev = FineTuneData("dev.jsonl", 8);
        string[] args = ["finetune", "--train", train, "--dev", dev, "--init", TinyModel.Value, "--epochs", "3", "--batch-size", "8",
            "--max-length", "16", "--lr", "1e-3", "--threads", "1"];
        string whole = TransferTestData.Temp(), split = TransferTestData.Temp();
        var (code, output) = Child(null, [.. args, "--out", whole]);
        Assert.True(code == 0, output);
        (code, output) = Child("latest:2", [.. args, "--out", split]); // epoch 2's checkpoint is in use, then the kill
        Assert.True(code != 0, output);
        (code, output) = Child(null, "finetune", "--out", split, "--resume", "--threads", "1");
        Assert.True(code == 0, output);
        Assert.Equal(File.ReadAllText(Path.Combine(whole, "metrics.csv")), File.ReadAllText(Path.Combine(split, "metrics.csv")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "best", "model.safetensors")), File.ReadAllBytes(Path.Combine(split, "best", "model.safetensors")));
        // A second run into the finished folder is refused, not silently overwritten.
        (code, output) = Child(null, [.. args, "--out", whole]);
        Assert.Equal(2, code);
        Assert.Contains("already holds", output);
    }

    static readonly Lazy<string> TinyModel = new(() =>
    {
        var run = TransferTestData.Temp();
        var corpus = TransferTestData.NumberedCorpus(documents: 20, maxSentences: 6);
        var (code, output) = Child(null, "pretrain", "--corpus", corpus, "--vocab", VocabPath, "--layers", "1", "--hidden", "16", "--heads", "2",
            "--ffn", "32", "--max-length", "32", "--steps", "2", "--batch-size", "4", "--eval-every", "2", "--eval-examples", "4",
            "--held-out-every", "5", "--shuffle-buffer", "20", "--threads", "1", "--out", run);
        Assert.True(code == 0, output);
        return Path.Combine(run, "model");
    });

    static string FineTuneData(string name, int count)
    {
        var path = Path.Combine(TransferTestData.Temp(), name);
        File.WriteAllLines(path, Enumerable.Range(0, count).Select(i =>
            i % 2 == 0 ? $"{{\"text\": \"the film was good number {i}\", \"label\": \"pos\"}}" : $"{{\"text\": \"a story was bad number {i}\", \"label\": \"neg\"}}"));
        return path;
    }
}
