using System.Text.Json.Nodes;
using PoNet.Checkpoints;
using PoNet.Lra;
using PoNet.Training;
using PoNet.Model;
using PoNet.Model.Mixers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using PoNet.Randomness;

namespace PoNet.Tests.Lra;

public class LraTrainerTests
{
    static string TempDir() => TestTemp.Dir("ponet-lra-");

    /// <summary>A few seconds' worth: 1-2 layers, D 16, N 24, small synthetic splits.</summary>
    static LraConfig TinyRun(MixerKind mixer = MixerKind.PoNet, bool pair = false) => new()
    {
        Task = "synthetic", Mixer = mixer, Layers = 1, Dim = 16, Heads = 2, Ffn = 32, HeadHidden = 16,
        VocabSize = 8, Classes = 2, MaxLength = 24, Segments = 4, Pair = pair,
        Steps = 8, Warmup = 2, BatchSize = 8, Accumulate = 2, LearningRate = 3e-3, EvalEvery = 3, Clip = 1.0, Seed = 11,
    };

    static LraSplits Data(LraConfig c) => SyntheticLra.Create(c, train: 40, dev: 16, test: 16);

    public static TheoryData<string, int> ResumeCases() => new()
    {
        { "ponet", 4 },       // stop between evaluations
        { "ponet", 3 },       // stop exactly at an evaluation
        { "transformer", 5 },
        { "fnet", 1 },
        { "pair", 4 },        // Retrieval-style dual encoder
    };

    [Theory]
    [MemberData(nameof(ResumeCases))]
    public void StoppingAndResumingEndsBitwiseEqualToAnUninterruptedRun(string kind, int stopAt)
    {
        var config = kind switch
        {
            "transformer" => TinyRun(MixerKind.Transformer),
            "fnet" => TinyRun(MixerKind.FNet),
            "pair" => TinyRun(pair: true),
            _ => TinyRun(),
        };
        var data = Data(config);
        string a = TempDir(), b = TempDir();

        using var straight = LraTrainer.Start(config, data, a);
        var expected = straight.Run();

        using (var first = LraTrainer.Start(config, data, b))
            first.RunUntil(stopAt);
        var atStop = SafeTensors.Load(Path.Combine(b, RunCheckpoints.Folder, RunCheckpoints.StepFolderName(stopAt), "model.safetensors"));
        Assert.Equal(config, LraTrainer.SavedConfig(b));
        using var resumed = LraTrainer.Resume(b, data);
        Assert.Equal(stopAt, resumed.Step);
        var actual = resumed.Run();

        // Final weights and AdamW state (the last checkpoint), then the best-dev weights the model holds after Run.
        foreach (var file in new[] { "model.safetensors", "optimizer.safetensors", "best.safetensors" })
        {
            var last = Path.Combine(RunCheckpoints.Folder, RunCheckpoints.StepFolderName(config.Steps), file);
            Assert.True(File.ReadAllBytes(Path.Combine(a, last)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(b, last))),
                $"{last} differs after resuming at step {stopAt}");
        }
        var w1 = straight.Model.state_dict();
        var w2 = resumed.Model.state_dict();
        Assert.Equal(w1.Keys, w2.Keys);
        foreach (var (name, t) in w1)
            Assert.True(t.eq(w2[name]).all().item<bool>(), $"{name} differs after resuming at step {stopAt}");
        // Training after the stop point really changed the weights, so the comparison covers the resumed steps.
        var final = SafeTensors.Load(Path.Combine(a, RunCheckpoints.Folder, RunCheckpoints.StepFolderName(config.Steps), "model.safetensors"));
        Assert.Contains(atStop, p => !p.Value.eq(final[p.Key]).all().item<bool>());
        Assert.Equal(straight.History, resumed.History);
        Assert.Equal(expected.BestStep, actual.BestStep);
        Assert.Equal(expected.DevAccuracy, actual.DevAccuracy);
        Assert.Equal(expected.DevLoss, actual.DevLoss);
        Assert.Equal(expected.TestAccuracy, actual.TestAccuracy);
        Assert.Equal(expected.TestLoss, actual.TestLoss);
        Assert.Equal(File.ReadAllText(Path.Combine(a, LraTrainer.MetricsFile)), File.ReadAllText(Path.Combine(b, LraTrainer.MetricsFile)));
    }

    [Fact]
    public void DropoutDrawsFromItsOwnSeedAndIsOffInEval()
    {
        var masks = new DropoutMasks(5);
        using var dropout = new SeededDropout(0.5, masks);
        using var x = ones(4000);
        using var y1 = dropout.forward(x);
        var kept = y1.count_nonzero().item<long>();
        Assert.InRange(kept, 1800, 2200);
        Assert.Equal(2f * kept, y1.sum().item<float>());
        using var next = dropout.forward(x);
        Assert.False(y1.eq(next).all().item<bool>()); // a new mask per call
        masks.Reseed(5);
        manual_seed(99);
        using var y2 = dropout.forward(x);
        Assert.True(y1.eq(y2).all().item<bool>());
        dropout.eval();
        using var y3 = dropout.forward(x);
        Assert.True(y3.eq(x).all().item<bool>());
    }

    [Theory]
    [InlineData(0.9)]
    [InlineData(0.3)]
    public void DropoutMasksKeepTheirShareAcrossBlocksAndScaleExactly(double keep)
    {
        // 300k elements: several 64 Ki blocks, each its own stream.
        var masks = new DropoutMasks(11);
        using var scale = masks.Scale([3, 1000, 100], keep);
        Assert.Equal(ScalarType.Float32, scale.dtype);
        Assert.Equal(new long[] { 3, 1000, 100 }, scale.shape);
        var inverse = (float)(65536.0 / DropoutMasks.Threshold(keep));
        Assert.True(scale.eq(0).logical_or(scale.eq(inverse)).all().item<bool>()); // 0 or exactly 1 / P(keep)
        using var dropped = scale.eq(0);
        var share = 1 - dropped.to_type(ScalarType.Float64).mean().item<double>();
        Assert.InRange(share, keep - 0.005, keep + 0.005); // σ ≈ 0.001
        // Every block holds about the same share: no block repeats another or is all kept.
        var perBlock = dropped.flatten().narrow(0, 0, 4 * 65536).view(4, 65536).logical_not().to_type(ScalarType.Float64).mean([1]);
        Assert.True(perBlock.sub(keep).abs().max().item<double>() < 0.01);
        Assert.False(perBlock[0].eq(perBlock[1]).item<bool>() && perBlock[1].eq(perBlock[2]).item<bool>());
        Assert.InRange(DropoutMasks.Threshold(keep) / 65536.0, keep - 1e-5, keep + 1e-5);
    }

    [Fact]
    public void OptimizerStateRoundTripsThroughACheckpoint()
    {
        var config = TinyRun();
        var data = Data(config);
        var dir = TempDir();
        using var first = LraTrainer.Start(config, data, dir);
        first.RunUntil(2);
        using var second = LraTrainer.Resume(dir, data);
        var s1 = Moments(first);
        var s2 = Moments(second);
        Assert.Equal(s1.Count, s2.Count);
        for (int i = 0; i < s1.Count; i++)
        {
            Assert.Equal(2, s1[i].step);
            Assert.Equal(s1[i].step, s2[i].step);
            Assert.True(s1[i].exp_avg.eq(s2[i].exp_avg).all().item<bool>());
            Assert.True(s1[i].exp_avg_sq.eq(s2[i].exp_avg_sq).all().item<bool>());
            Assert.False(s2[i].exp_avg.eq(0).all().item<bool>());
        }
    }

    static List<TorchSharp.Modules.AdamW.State> Moments(LraTrainer t)
    {
        const System.Reflection.BindingFlags Private = System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance;
        var trainer = typeof(LraTrainer).GetField("trainer", Private)!.GetValue(t)!;
        var optimizer = (TorchSharp.Modules.AdamW)typeof(Trainer).GetField("optimizer", Private)!.GetValue(trainer)!;
        return optimizer.state_dict().State.Cast<TorchSharp.Modules.AdamW.State>().ToList();
    }

    [Fact]
    public void SameSeedSameRunDifferentSeedDifferentRun()
    {
        var config = TinyRun() with { Steps = 3, EvalEvery = 3 };
        var data = Data(config);
        using var a = LraTrainer.Start(config, data, TempDir());
        using var b = LraTrainer.Start(config, data, TempDir());
        using var c = LraTrainer.Start(config with { Seed = 12 }, data, TempDir());
        a.Run();
        // Whatever else uses torch's global generator meanwhile does not matter.
        b.Run(new SyncProgress(p => { manual_seed(p.Step * 7); rand(10).Dispose(); }));
        c.Run();
        Assert.Equal(a.History, b.History);
        Assert.NotEqual(a.History[0].Train["loss"], c.History[0].Train["loss"]);
    }

    [Fact]
    public void LearnsTheSyntheticTaskWellAboveChanceAndWritesResults()
    {
        var config = new LraConfig
        {
            Task = "synthetic", Mixer = MixerKind.PoNet, Layers = 1, Dim = 32, Heads = 2, Ffn = 64, HeadHidden = 32,
            VocabSize = 16, Classes = 2, MaxLength = 48, Segments = 8,
            Steps = 120, Warmup = 12, BatchSize = 16, LearningRate = 3e-3, EvalEvery = 40, Seed = 1,
        };
        var data = SyntheticLra.Create(config, train: 600, dev: 100, test: 100);
        var dir = TempDir();
        var reports = new List<TrainingProgress>();
        using var trainer = LraTrainer.Start(config, data, dir);
        var results = trainer.Run(new SyncProgress(reports.Add));

        Assert.True(results.DevAccuracy >= 0.85, $"dev accuracy {results.DevAccuracy}");
        Assert.True(results.TestAccuracy >= 0.8, $"test accuracy {results.TestAccuracy}");
        Assert.Equal(120, reports.Count);
        Assert.Equal(Enumerable.Range(1, 120), reports.Select(r => r.Step));
        Assert.Equal(3, reports.Count(r => r.Row.Dev is not null));
        Assert.All(reports, r => Assert.True(r.TokensPerSecond > 0 && r.Eta >= TimeSpan.Zero));
        Assert.Equal(TimeSpan.Zero, reports[^1].Eta);

        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, LraTrainer.ResultsFile)))!.AsObject();
        Assert.Equal("synthetic", json["task"]!.GetValue<string>());
        Assert.Equal("ponet", json["mixer"]!.GetValue<string>());
        Assert.Equal(120, json["steps"]!.GetValue<int>());
        foreach (var key in new[] { "dev_accuracy", "test_accuracy" })
            Assert.InRange(json[key]!.GetValue<double>(), 0.0, 1.0);
        Assert.Equal(results.TestAccuracy, json["test_accuracy"]!.GetValue<double>());
        foreach (var key in new[] { "train_seconds", "tokens_per_second", "peak_memory_mb" })
            Assert.True(json[key]!.GetValue<double>() > 0, key);
        Assert.Equal(config, LraConfig.FromJson(json["config"]!.ToJsonString(), "results.json"));
        Assert.Equal(results, LraResults.Read(Path.Combine(dir, LraTrainer.ResultsFile)) with { Config = results.Config });

        var csv = File.ReadAllLines(Path.Combine(dir, LraTrainer.MetricsFile));
        Assert.Equal("step,learning_rate,train_loss,train_accuracy,dev_loss,dev_accuracy", csv[0]);
        Assert.Equal(Enumerable.Range(1, 120).Select(i => i.ToString()), csv.Skip(1).Select(l => l.Split(',')[0])); // a row per step
        Assert.Equal(new[] { "40", "80", "120" }, csv.Skip(1).Where(l => l.Split(',')[5] != "").Select(l => l.Split(',')[0])); // dev at evaluations
        Assert.All(csv.Skip(1), l => Assert.NotEqual("", l.Split(',')[2]));

        // A finished run cannot be started over, and resuming it just rewrites the same results.
        Assert.Throws<PoNetInputException>(() => LraTrainer.Start(config, data, dir));
        using var again = LraTrainer.Resume(dir, data);
        var rerun = again.Run();
        Assert.Equal(results.TestAccuracy, rerun.TestAccuracy);
        Assert.Equal(results.BestStep, rerun.BestStep);
    }

    [Fact]
    public void CheckpointFolderHoldsOneCompleteStep()
    {
        var config = TinyRun();
        var dir = TempDir();
        using var t = LraTrainer.Start(config, Data(config), dir);
        t.RunUntil(7); // evaluations at 3 and 6 saved too; only the newest stays
        var root = Path.Combine(dir, RunCheckpoints.Folder);
        Assert.Equal("step-000007", File.ReadAllText(Path.Combine(root, RunCheckpoints.Latest)).Trim());
        Assert.Equal(new[] { "step-000007" }, Directory.GetDirectories(root).Select(Path.GetFileName));
        Assert.Equal(new[] { "best.safetensors", "model.safetensors", "optimizer.safetensors", "state.json" },
            Directory.GetFiles(Path.Combine(root, "step-000007")).Select(Path.GetFileName).Order());
        Assert.False(File.Exists(Path.Combine(dir, LraTrainer.ResultsFile)));
    }

    [Fact]
    public void ResumingWithOtherDataIsAnInputError()
    {
        var config = TinyRun();
        var dir = TempDir();
        using (var t = LraTrainer.Start(config, Data(config), dir)) t.RunUntil(1);
        var other = SyntheticLra.Create(config, train: 41, dev: 16, test: 16);
        var e = Assert.Throws<PoNetInputException>(() => LraTrainer.Resume(dir, other));
        Assert.Contains("same data", e.Message);
    }

    [Fact]
    public void BadDataIsAnInputErrorNamingTheExample()
    {
        var config = TinyRun() with { Steps = 1, Warmup = 1 };
        var good = new List<(int[], int)> { ([1, 2, 3], 0), ([2, 2], 1) };
        var badToken = new LraListDataset(new List<(int[], int)> { ([1, 2, 3], 0), ([2, 99], 1) }, "train");
        var badLabel = new LraListDataset(new List<(int[], int)> { ([1, 2, 3], 0), ([2, 2], 5) }, "train");
        var e1 = Assert.Throws<PoNetInputException>(() =>
            LraTrainer.Start(config with { Accumulate = 1, BatchSize = 2 }, new LraSplits(badToken, new LraListDataset(good), null), TempDir()).Run());
        Assert.Contains("token id 99", e1.Message);
        var e2 = Assert.Throws<PoNetInputException>(() =>
            LraTrainer.Start(config, new LraSplits(badLabel, new LraListDataset(good), null), TempDir()));
        Assert.Contains("label 5", e2.Message);
        Assert.Throws<PoNetInputException>(() => new LraListDataset(new List<(int[], int)> { ([0, 0], 0) }));
        Assert.Throws<PoNetInputException>(() =>
            LraTrainer.Start(config with { Pair = true }, new LraSplits(new LraListDataset(good), new LraListDataset(good), null), TempDir()));
    }

    [Fact]
    public void BatchesArePaddedWithZeroAndTruncated()
    {
        var ds = new LraListDataset(new List<(int[], int)> { ([5, 6, 7, 8, 9], 1), ([3], 0) });
        using var batch = ds.GetBatch([1, 0], 4);
        Assert.Equal(new long[] { 3, 0, 0, 0, 5, 6, 7, 8 }, batch.Tokens.data<long>().ToArray());
        Assert.Equal(new long[] { 0, 1 }, batch.Labels.data<long>().ToArray());
        Assert.Null(batch.Tokens2);
    }

    [Fact]
    public void BatchOrderVisitsEveryExampleOncePerEpoch()
    {
        var order = new LraBatchOrder(3, 10);
        var seen = Enumerable.Range(0, 5).SelectMany(s => order.MicroBatch(s, 0, 1, 2)).ToList();
        Assert.Equal(Enumerable.Range(0, 10), seen.Order());
        Assert.NotEqual(Enumerable.Range(0, 10), seen);
        Assert.NotEqual(order.Permutation(0), new LraBatchOrder(3, 10).Permutation(1));
    }

    sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
