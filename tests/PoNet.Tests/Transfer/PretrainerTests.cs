using PoNet.Checkpoints;
using PoNet.Model;
using PoNet.Pretraining;
using TorchSharp;
using Xunit;
using static PoNet.Tests.Tokenization.TokenizerTestData;
using static TorchSharp.torch;

namespace PoNet.Tests.Transfer;

/// <summary>
/// Runs that seed libtorch's global generator (initial weights, dropout) must not share it with tests
/// running at the same time: they are in the collection that runs alone.
/// </summary>
[Collection(nameof(ConsoleRedirection))]
public class PretrainerTests
{
    static readonly Lazy<string> Corpus = new(() => TransferTestData.NumberedCorpus(documents: 60, maxSentences: 12));

    static PretrainOptions Tiny(string output, int steps = 6) => new()
    {
        Corpus = Corpus.Value,
        Output = output,
        Vocab = VocabPath,
        Layers = 2, Hidden = 16, Heads = 2, Ffn = 32,
        Steps = steps, BatchSize = 4, LearningRate = 3e-3, Warmup = 2,
        EvalEvery = 3, EvalExamples = 8,
        Data = new PretrainingDataOptions { MaxLength = 32, HeldOutEvery = 5, ShuffleBufferSize = 50, DocumentPoolSize = 10, Seed = 9 },
    };

    [Fact]
    public void MaskedPositionsGiveTheLossOfTheFullForward()
    {
        var (model, _) = PoNetCheckpoint.Load(Golden.Dir("cfgB"), c => new PoNetForPreTraining(c));
        model.eval();
        var inputs = InputFile.Read(Golden.Batch("cfgB", "b0"), model.Config);
        var mlm = full(inputs.InputIds.shape, -100L, dtype: ScalarType.Int64);
        foreach (var (r, c) in new[] { (0, 3), (0, 20), (1, 5), (2, 1), (2, 9) }) mlm[r, c] = inputs.InputIds[r, c];
        var labels = new PoNetLabels(mlm, tensor(new long[] { 0, 2, 1 }));
        using var _ = no_grad();
        var full_ = model.forward(inputs, labels);
        var masked = model.ForwardMaskedPositions(inputs, labels);
        Assert.Equal(full_.Loss!.item<float>(), masked.Loss!.item<float>(), 1e-5);
        Assert.Equal(full_.MlmLoss!.item<float>(), masked.MlmLoss!.item<float>(), 1e-5);
        Assert.Equal(full_.SsoLoss!.item<float>(), masked.SsoLoss!.item<float>(), 1e-6);
        Assert.Equal([5L, 1000L], masked.Logits.shape);
        Golden.AssertClose(full_.Logits[2, 9], masked.Logits[4], 1e-5, 1e-5, "logits at [2, 9]");
    }

    [Fact]
    public void AResumedRunEqualsAnUninterruptedOne()
    {
        var whole = TransferTestData.Temp();
        Assert.True(new Pretrainer(Tiny(whole)).Run());

        var split = TransferTestData.Temp();
        using (var cancel = new CancellationTokenSource())
        {
            // Stop after step 2: between evaluations, so the checkpoint is the one cancellation writes.
            bool finished = new Pretrainer(Tiny(split)).Run(p => { if (p.Last.Step == 2) cancel.Cancel(); }, cancel.Token);
            Assert.False(finished);
        }
        var resumed = new Pretrainer(Tiny(split) with { Steps = 999, LearningRate = 1 }, resume: true); // saved settings win
        Assert.Equal(2, resumed.State.Step);
        Assert.Equal(8, resumed.State.ExamplesConsumed);
        Assert.True(resumed.Run());

        var expected = SafeTensors.Load(Path.Combine(whole, Pretrainer.ModelDir, PoNetCheckpoint.SafeTensorsFile));
        var actual = SafeTensors.Load(Path.Combine(split, Pretrainer.ModelDir, PoNetCheckpoint.SafeTensorsFile));
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, t) in expected) Assert.True(TransferTestData.Same(t, actual[name]), $"{name} differs after resuming");
        var a = ReadState(whole);
        var b = ReadState(split);
        Assert.Equal(a.History, b.History);
        Assert.Equal(a.Evaluations, b.Evaluations);
        Assert.Equal(6, b.Step);
        Assert.Equal(File.ReadAllText(Path.Combine(whole, Pretrainer.CurvesFile)), File.ReadAllText(Path.Combine(split, Pretrainer.CurvesFile)));
    }

    /// <summary>The state saved in a run's last checkpoint, as a resumed run sees it.</summary>
    static PretrainState ReadState(string run)
    {
        using var resumed = new Pretrainer(Tiny(run), resume: true);
        return resumed.State;
    }

    [Fact]
    public void ANewRunRefusesAFolderThatHoldsOneAndResumeNeedsOne()
    {
        var run = TransferTestData.Temp();
        Assert.True(new Pretrainer(Tiny(run, steps: 1)).Run());
        Assert.Contains("already holds a run", Assert.Throws<PoNetInputException>(() => new Pretrainer(Tiny(run))).Message);
        Assert.Contains("no checkpoint to resume from", Assert.Throws<PoNetInputException>(() => new Pretrainer(Tiny(TransferTestData.Temp()), resume: true)).Message);
    }
}
