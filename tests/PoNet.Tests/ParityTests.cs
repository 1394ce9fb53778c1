using PoNet.Checkpoints;
using PoNet.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PoNet.Tests;

/// <summary>Parity with the reference PyTorch implementation on every golden batch and output.</summary>
public class ParityTests
{
    const double HiddenTol = 1e-4, MlmAtol = 1e-3;

    public static TheoryData<string, string, string> Batches()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var cfg in new[] { "cfgA", "cfgB" })
            foreach (var b in new[] { "b0", "b1", "b2", "b3", "b4" })
                foreach (var format in new[] { "safetensors", "bin" })
                    data.Add(cfg, b, format);
        return data;
    }

    /// <summary>A copy of a golden folder holding only one weights format, so that format is what loads.</summary>
    internal static string FolderWithOnly(string source, string format)
    {
        var dir = TestTemp.Dir("ponet-golden-");
        File.Copy(Path.Combine(source, "config.json"), Path.Combine(dir, "config.json"));
        var weights = format == "bin" ? PoNetCheckpoint.PyTorchFile : PoNetCheckpoint.SafeTensorsFile;
        File.Copy(Path.Combine(source, weights), Path.Combine(dir, weights));
        return dir;
    }

    static PoNetInputs Inputs(Dictionary<string, Tensor> batch, PoNetTrace? trace = null) =>
        new(batch["input.input_ids"], batch["input.attention_mask"], batch["input.token_type_ids"],
            batch.GetValueOrDefault("input.segment_ids")) { Trace = trace };

    [Theory]
    [MemberData(nameof(Batches))]
    public void PreTrainingOutputsMatchReference(string cfg, string batchName, string format)
    {
        var dir = FolderWithOnly(Golden.Dir(cfg), format);
        var (model, report) = PoNetCheckpoint.Load(dir, c => new PoNetForPreTraining(c));
        Assert.Empty(report.NewlyInitialized);
        model.eval();
        var batch = Golden.Read(Golden.Batch(cfg, batchName));
        using var trace = new PoNetTrace();
        using var _ = no_grad();
        var output = model.forward(Inputs(batch, trace), null);

        Golden.AssertClose(batch["output.last_hidden_state"], output.Base.LastHiddenState, HiddenTol, HiddenTol, "last_hidden_state");
        Golden.AssertClose(batch["output.pooler_output"], output.Base.PoolerOutput!, HiddenTol, HiddenTol, "pooler_output");
        Golden.AssertClose(batch["output.mlm_logits"], output.Logits, MlmAtol, 0, "mlm_logits");
        Golden.AssertClose(batch["output.sso_logits"], output.SsoLogits!, HiddenTol, HiddenTol, "sso_logits");

        if (batch.ContainsKey("debug.hidden_states"))
        {
            Golden.AssertClose(batch["debug.hidden_states"], stack(trace.HiddenStates), HiddenTol, HiddenTol, "debug.hidden_states");
            Golden.AssertClose(batch["debug.attn_context"], stack(trace.AttnContext), HiddenTol, HiddenTol, "debug.attn_context");
            Golden.AssertClose(batch["debug.local_max"], stack(trace.LocalMax), HiddenTol, HiddenTol, "debug.local_max");
            Golden.AssertClose(batch["debug.segment_max"], stack(trace.SegmentMax), HiddenTol, HiddenTol, "debug.segment_max");
        }
        Directory.Delete(dir, true);
    }

    [Theory]
    [MemberData(nameof(Batches))]
    public void SequenceClassificationLogitsMatchReference(string cfg, string batchName, string format)
    {
        var dir = FolderWithOnly(Path.Combine(Golden.Dir(cfg), "seqcls"), format);
        var (model, report) = PoNetCheckpoint.Load(dir, c => new PoNetForSequenceClassification(c));
        Assert.Empty(report.NewlyInitialized);
        Assert.Equal(3, model.Config.NumLabels);
        model.eval();
        var batch = Golden.Read(Golden.Batch(cfg, batchName));
        using var _ = no_grad();
        var output = model.forward(Inputs(batch), null);
        Golden.AssertClose(batch["output.seqcls_logits"], output.Logits, HiddenTol, HiddenTol, "seqcls_logits");
        Golden.AssertClose(batch["output.last_hidden_state"], output.Base.LastHiddenState, HiddenTol, HiddenTol, "last_hidden_state");
        Directory.Delete(dir, true);
    }

    [Theory]
    [InlineData("cfgA")]
    [InlineData("cfgB")]
    public void DerivedSegmentsAndSpecialMaskMatchReference(string cfg)
    {
        var config = PoNetConfig.Load(Path.Combine(Golden.Dir(cfg), "config.json"));
        foreach (var b in new[] { "b0", "b1", "b2", "b3", "b4" })
        {
            var batch = Golden.Read(Golden.Batch(cfg, b));
            var ids = batch["input.input_ids"];
            var segments = batch.TryGetValue("input.segment_ids", out var given) ? given
                : Segments.FromSpecialTokens(ids, config.ClsTokenId, config.SepTokenId);
            Assert.True(Same(batch["derived.segment_index"], segments), $"{cfg}/{b}: segment ids differ");
            Assert.True(Same(batch["derived.token_type_mask"], Segments.SpecialMask(ids, config.ClsTokenId, config.SepTokenId)),
                $"{cfg}/{b}: special-token mask differs");
        }
    }

    [Theory]
    [InlineData("cfgA", "safetensors")]
    [InlineData("cfgA", "bin")]
    [InlineData("cfgB", "safetensors")]
    [InlineData("cfgB", "bin")]
    public void TrainingStepLossesAndEveryGradientMatchReference(string cfg, string format)
    {
        var dir = FolderWithOnly(Golden.Dir(cfg), format);
        // The reference ran model.train() with every dropout at p = 0.
        var (model, _) = PoNetCheckpoint.Load(dir, c => new PoNetForPreTraining(c), c => c.HiddenDropoutProb = 0);
        model.train();
        var check = Golden.Read(Path.Combine(Golden.Dir(cfg), "train_check.safetensors"));
        var output = model.forward(Inputs(check), new PoNetLabels(check["input.mlm_labels"], check["input.next_sentence_label"]));

        AssertRelative(check["output.loss"], output.Loss!, "loss");
        AssertRelative(check["output.mlm_loss"], output.MlmLoss!, "mlm_loss");
        AssertRelative(check["output.sso_loss"], output.SsoLoss!, "sso_loss");

        output.Loss!.backward();
        var grads = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad);
        var expectedGrads = check.Where(p => p.Key.StartsWith("grad.", StringComparison.Ordinal)).ToList();
        Assert.Equal(expectedGrads.Count, grads.Count);
        foreach (var (key, expected) in expectedGrads)
        {
            var name = key["grad.".Length..];
            Assert.True(grads.TryGetValue(name, out var grad) && grad is not null, $"no gradient for {name}");
            var scale = expected.abs().max().item<float>();
            Golden.AssertClose(expected, grad!, 1e-4 * scale, 0, $"grad of {name}");
        }
        Directory.Delete(dir, true);
    }

    [Theory]
    [InlineData("cfgA")]
    [InlineData("cfgB")]
    public void SequenceClassificationLossMatchesReference(string cfg)
    {
        var (model, _) = PoNetCheckpoint.Load(Path.Combine(Golden.Dir(cfg), "seqcls"), c => new PoNetForSequenceClassification(c));
        model.eval();
        var check = Golden.Read(Path.Combine(Golden.Dir(cfg), "train_check.safetensors"));
        using var _ = no_grad();
        var output = model.forward(Inputs(check), new PoNetLabels(Labels: check["input.seqcls_labels"]));
        AssertRelative(check["output.seqcls_loss"], output.Loss!, "seqcls_loss");
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    static void AssertRelative(Tensor expected, Tensor actual, string what)
    {
        double e = expected.item<float>(), a = actual.item<float>();
        Assert.True(Math.Abs(a - e) <= 1e-5 * Math.Abs(e), $"{what}: {a:G9}, expected {e:G9}");
    }
}
