using System.Text.Json.Nodes;
using PoNet.Model.Mixers;
using PoNet.Cli;
using PoNet.Lra;
using PoNet.Training;
using Xunit;

namespace PoNet.Tests.Training;

/// <summary>A resume trusts nothing in state.json: every field that steers it is checked, and a bad one is one line naming the file and the key.</summary>
public class TrainingStateTests
{
    static readonly string[] Tiny =
        ["synthetic", "--steps", "4", "--eval-every", "2", "--max-length", "16", "--dim", "8", "--ffn", "16", "--layers", "1", "--batch-size", "4", "--segments", "4"];

    /// <summary>A run stopped after step 2, and the path of its state.json.</summary>
    static (string Dir, string State) StoppedRun()
    {
        var dir = TestTemp.Dir("ponet-state-");
        var config = LraPresets.Resolve("synthetic", "quick", MixerKind.PoNet, new LraOverrides
        {
            Steps = 4, EvalEvery = 2, MaxLength = 16, Dim = 8, Ffn = 16, Layers = 1, BatchSize = 4, Segments = 4,
        });
        using (var trainer = LraTrainer.Start(config, SyntheticLra.Create(config, train: 16, dev: 8, test: 8), dir))
            trainer.RunUntil(2);
        return (dir, Path.Combine(RunCheckpoints.Find(dir)!, RunCheckpoints.StateFile));
    }

    public static TheoryData<string, string, string> Corruptions() => new()
    {
        { "step", "-1", "key 'step' is -1" },
        { "step", "1000000", "key 'step' is 1000000, expected 0..4" },
        { "steps", "0", "key 'steps' is 0" },
        { "format", "\"ponet-lra-checkpoint/1\"", "key 'format'" },
        { "kind", "\"pretrain\"", "key 'kind' is 'pretrain'" },
        { "threads", "-3", "key 'threads'" },
        { "train_seconds", "-5", "train_seconds" },
        { "rows", "[]", "key 'rows' has 0 training steps, but key 'step' says 2" },
        { "optimizer_steps", "{\"x\": 99}", "key 'optimizer_steps.x' is 99" },
        { "best", "{\"step\": 7, \"score\": 0.5, \"metrics\": {}}", "key 'best.step' is 7" },
        { "task", "{}", "key 'task.config' is missing" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void AResumeRefusesAStateWithABadField(string key, string value, string message)
    {
        var (dir, state) = StoppedRun();
        var json = JsonNode.Parse(File.ReadAllText(state))!.AsObject();
        json[key] = JsonNode.Parse(value);
        File.WriteAllText(state, json.ToJsonString());
        var error = new StringWriter();
        var saved = Console.Error;
        Console.SetError(error);
        int code;
        try
        {
            code = Program.Main(["lra", "synthetic", "--out", dir, "--resume"]);
        }
        finally
        {
            Console.SetError(saved);
        }
        Assert.Equal(2, code);
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("ponet: ") && !l.Contains("resuming with"));
        Assert.Contains(state, line);
        Assert.Contains(message, line);
        Assert.False(File.Exists(Path.Combine(dir, "results.json")));
    }

    [Fact]
    public void StateWithoutTheFileOrNotJsonIsAnInputError()
    {
        var (dir, state) = StoppedRun();
        File.WriteAllText(state, "{ not json");
        Assert.Contains("not a training checkpoint state", Assert.Throws<PoNetInputException>(() => Trainer.Latest(dir, LraTrainer.Kind)).Message);
        File.Delete(state);
        Assert.Contains("file not found", Assert.Throws<PoNetInputException>(() => Trainer.Latest(dir, LraTrainer.Kind)).Message);
    }

    [Fact]
    public void LatestPointingNowhereIsAnInputErrorAndAMissingLatestFallsBackToTheNewestFolder()
    {
        var (dir, _) = StoppedRun();
        var root = Path.Combine(dir, RunCheckpoints.Folder);
        File.WriteAllText(Path.Combine(root, RunCheckpoints.Latest), "../elsewhere\n");
        Assert.Contains("names checkpoint '../elsewhere'", Assert.Throws<PoNetInputException>(() => RunCheckpoints.Find(dir)).Message);
        File.Delete(Path.Combine(root, RunCheckpoints.Latest));
        Assert.Equal(RunCheckpoints.StepFolderName(2), Path.GetFileName(RunCheckpoints.Find(dir)));
    }

    [Theory]
    [InlineData("pretrain", "--steps", "10")]
    [InlineData("pretrain", "--lr", "1")]
    [InlineData("pretrain", "--hidden", "32")]
    [InlineData("pretrain", "--corpus", "/tmp")]
    [InlineData("finetune", "--epochs", "9")]
    [InlineData("finetune", "--train", "x.tsv")]
    [InlineData("lra", "--steps", "10")]
    public void ResumeRefusesSettingsInsteadOfIgnoringThem(string command, string option, string value)
    {
        var dir = TestTemp.Dir("ponet-state-");
        string[] args = command == "lra" ? ["lra", "synthetic", "--out", dir, "--resume", option, value] : [command, "--out", dir, "--resume", option, value];
        var error = new StringWriter();
        var saved = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(2, Program.Main(args));
        }
        finally
        {
            Console.SetError(saved);
        }
        Assert.Contains($"drop {option}", error.ToString());
    }

    [Fact]
    public void MetricsCsvHasARowPerStepAndEmptyCellsWhereAStepHasNoValue()
    {
        var rows = new List<MetricsRow>
        {
            new() { Step = 0, Dev = new() { ["loss"] = 2 } },
            new() { Step = 1, LearningRate = 0.5, Train = new() { ["loss"] = 1.5 } },
            new() { Step = 2, LearningRate = 0.25, Train = new() { ["loss"] = 1.25 }, Dev = new() { ["loss"] = 1 } },
        };
        Assert.Equal("step,learning_rate,train_loss,dev_loss\n0,,,2\n1,0.5,1.5,\n2,0.25,1.25,1\n", MetricsRow.Csv(rows));
        Assert.Equal(rows[2], rows[2] with { Train = new() { ["loss"] = 1.25 } });
        Assert.NotEqual(rows[2], rows[2] with { Train = new() { ["loss"] = 1.5 } });
    }
}

public class AtomicDirectoryTests
{
    [Fact]
    public void ReplacesAFolderWholeAndRemovesTemporariesOfKilledWrites()
    {
        var parent = TestTemp.Dir("ponet-atomic-");
        var target = Path.Combine(parent, "model");
        PoNet.IO.AtomicDirectory.Write(target, dir => File.WriteAllText(Path.Combine(dir, "a.txt"), "old"));
        Directory.CreateDirectory(Path.Combine(parent, ".model.999999.dead.tmp")); // what a killed write leaves
        PoNet.IO.AtomicDirectory.Write(target, dir =>
        {
            File.WriteAllText(Path.Combine(dir, "b.txt"), "new");
            Assert.Equal("old", File.ReadAllText(Path.Combine(target, "a.txt"))); // the old folder stays in place while the new one is written
        });
        Assert.Equal(["b.txt"], Directory.GetFiles(target).Select(Path.GetFileName));
        Assert.Equal(["model"], Directory.GetFileSystemEntries(parent).Select(Path.GetFileName));
        // A failed write leaves the old folder as it was and no temporary.
        Assert.Throws<InvalidOperationException>(() => PoNet.IO.AtomicDirectory.Write(target, _ => throw new InvalidOperationException()));
        Assert.Equal("new", File.ReadAllText(Path.Combine(target, "b.txt")));
        Assert.Equal(["model"], Directory.GetFileSystemEntries(parent).Select(Path.GetFileName));
    }
}

[Collection(nameof(PoNet.Tests.ConsoleRedirection))]
public class FirstStepMemoryTests
{
    [Fact]
    public void APretrainingStepLargerThanTheMachinesMemoryIsRefusedBeforeTraining()
    {
        var corpus = PoNet.Tests.Transfer.TransferTestData.NumberedCorpus(documents: 20, maxSentences: 6);
        var output = new StringWriter();
        var saved = Console.Error;
        Console.SetError(output);
        int code;
        try
        {
            // 1 layer × 16 wide fits anywhere; 65536 sequences of 512 tokens, with vocabulary logits at 15 % of them, do not fit in 24 GiB.
            code = Program.Main(["pretrain", "--corpus", corpus, "--vocab", PoNet.Tests.Tokenization.TokenizerTestData.VocabPath, "--out",
                PoNet.Tests.Transfer.TransferTestData.Temp(), "--layers", "1", "--hidden", "16", "--heads", "2", "--ffn", "32", "--max-length", "512",
                "--batch-size", "65536", "--steps", "1"]);
        }
        finally
        {
            Console.SetError(saved);
        }
        Assert.Equal(2, code);
        Assert.Contains("--batch-size × --max-length: a training step of 65536×512 tokens", output.ToString());
        Assert.Contains("is available", output.ToString());
    }
}
