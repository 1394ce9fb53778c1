using PoNet.Checkpoints;
using PoNet.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PoNet.Tests;

public class CheckpointTests
{
    static string Temp() => TestTemp.Dir("ponet-ckpt-");

    static Dictionary<string, Tensor> Batch => Golden.Read(Golden.Batch("cfgA", "b0"));

    static PoNetTaskOutput Run(PoNetTaskModel model, Dictionary<string, Tensor> batch)
    {
        model.eval();
        using var _ = no_grad();
        return model.forward(new PoNetInputs(batch["input.input_ids"], batch["input.attention_mask"], batch["input.token_type_ids"],
            batch.GetValueOrDefault("input.segment_ids")), null);
    }

    /// <summary>A model folder holding the golden cfgA weights after <paramref name="edit"/>.</summary>
    static string EditedCheckpoint(Action<Dictionary<string, Tensor>> edit, Action<string>? editConfig = null, string from = "")
    {
        var dir = Temp();
        var source = Path.Combine(Golden.Dir("cfgA"), from);
        var tensors = SafeTensors.Load(Path.Combine(source, "model.safetensors"));
        edit(tensors);
        SafeTensors.Save(Path.Combine(dir, "model.safetensors"), tensors);
        File.Copy(Path.Combine(source, "config.json"), Path.Combine(dir, "config.json"));
        editConfig?.Invoke(Path.Combine(dir, "config.json"));
        return dir;
    }

    [Fact]
    public void SaveThenLoadGivesIdenticalOutputsAndTheReferenceKeyLayout()
    {
        var (model, _) = PoNetCheckpoint.Load(Golden.Dir("cfgA"), c => new PoNetForPreTraining(c));
        var dir = Temp();
        PoNetCheckpoint.Save(model, dir);
        Assert.Equal(["config.json", "model.safetensors"], Directory.GetFiles(dir).Select(Path.GetFileName).Order());

        // Same keys, shapes and dtypes as the reference's own file, so it loads there with strict=True.
        var (ours, _, _) = SafeTensors.ReadHeader(Path.Combine(dir, "model.safetensors"));
        var (reference, _, _) = SafeTensors.ReadHeader(Path.Combine(Golden.Dir("cfgA"), "model.safetensors"));
        Assert.Equal(reference.Select(e => (e.Name, e.DType, string.Join(",", e.Shape))).OrderBy(x => x.Name),
                     ours.Select(e => (e.Name, e.DType, string.Join(",", e.Shape))).OrderBy(x => x.Name));

        var (reloaded, report) = PoNetCheckpoint.Load(dir, c => new PoNetForPreTraining(c));
        Assert.Empty(report.NewlyInitialized);
        Assert.Equal(["PoNetForPreTraining"], reloaded.Config.Architectures!);
        var a = Run(model, Batch);
        var b = Run(reloaded, Batch);
        Assert.True(a.Logits.equal(b.Logits).all().item<bool>());
        Assert.True(a.Base.LastHiddenState.equal(b.Base.LastHiddenState).all().item<bool>());
    }

    [Fact]
    public void LoadsThe2021LayoutWithoutDecoderKeysOrPositionIds()
    {
        var dir = EditedCheckpoint(t =>
        {
            t.Remove("ponet.embeddings.position_ids");
            t.Remove("cls.predictions.decoder.weight");
            t.Remove("cls.predictions.decoder.bias");
        });
        var (model, report) = PoNetCheckpoint.Load(dir, c => new PoNetForPreTraining(c));
        Assert.Empty(report.NewlyInitialized);
        Golden.AssertClose(Batch["output.mlm_logits"], Run(model, Batch).Logits, 1e-3, 0, "mlm_logits");
    }

    [Fact]
    public void UntiedModelsReadTheDecoderWeightFromTheFile()
    {
        // The HF-hub layout stores the decoder separately; an untied model must use it, not the embeddings.
        var dir = EditedCheckpoint(t => t["cls.predictions.decoder.weight"] = t["cls.predictions.decoder.weight"] * 2,
            cfg => File.WriteAllText(cfg, File.ReadAllText(cfg).Replace("\"clsgsepg\": true", "\"clsgsepg\": true, \"tie_word_embeddings\": false")));
        var (untied, _) = PoNetCheckpoint.Load(dir, c => new PoNetForPreTraining(c));
        var (tied, _) = PoNetCheckpoint.Load(Golden.Dir("cfgA"), c => new PoNetForPreTraining(c));
        Assert.False(untied.Config.TieWordEmbeddings);
        var decoder = untied.state_dict()["cls.predictions.decoder.weight"];
        var embeddings = tied.state_dict()["ponet.embeddings.word_embeddings.weight"];
        Assert.True(decoder.equal(embeddings * 2).all().item<bool>());
    }

    [Fact]
    public void BaseModelWeightsWithoutThePrefixLoadIntoAClassifier()
    {
        var dir = EditedCheckpoint(t =>
        {
            foreach (var key in t.Keys.ToList())
            {
                var value = t[key];
                t.Remove(key);
                if (key.StartsWith("ponet.", StringComparison.Ordinal)) t[key["ponet.".Length..]] = value;
            }
        });
        var (model, report) = PoNetCheckpoint.Load(dir, c => new PoNetForSequenceClassification(c), c => c.SetNumLabels(4));
        Assert.Equal(["classifier.weight", "classifier.bias"], report.NewlyInitialized.Order().Reverse());
        Golden.AssertClose(Batch["output.last_hidden_state"], Run(model, Batch).Base.LastHiddenState, 1e-4, 1e-4, "last_hidden_state");
        Assert.Equal(4, model.Config.NumLabels);
    }

    [Fact]
    public void APreTrainingCheckpointLoadsIntoAClassifierWithANewHead()
    {
        var (model, report) = PoNetCheckpoint.Load(Golden.Dir("cfgA"), c => new PoNetForSequenceClassification(c));
        Assert.Equal(["classifier.bias", "classifier.weight"], report.NewlyInitialized.Order());
        Assert.Contains("cls.seq_relationship.weight", report.Ignored);
        Assert.Contains("newly initialised", report.ToString());
        Golden.AssertClose(Batch["output.pooler_output"], Run(model, Batch).Base.PoolerOutput!, 1e-4, 1e-4, "pooler_output");

        // And the other heads too.
        var (mlm, mlmReport) = PoNetCheckpoint.Load(Golden.Dir("cfgA"), c => new PoNetForMaskedLM(c));
        Assert.Empty(mlmReport.NewlyInitialized);
        Assert.Contains("ponet.pooler.dense.weight", mlmReport.Ignored);
        Golden.AssertClose(Batch["output.mlm_logits"], Run(mlm, Batch).Logits, 1e-3, 0, "mlm_logits");
        var (tokens, tokenReport) = PoNetCheckpoint.Load(Golden.Dir("cfgA"), c => new PoNetForTokenClassification(c));
        Assert.Equal(["classifier.bias", "classifier.weight"], tokenReport.NewlyInitialized.Order());
        Assert.Equal([3L, 16, 2], Run(tokens, Batch).Logits.shape);
    }

    [Fact]
    public void MismatchesFailWithTheExactListsBeforeAnythingIsCopied()
    {
        var dir = EditedCheckpoint(t =>
        {
            foreach (var key in t.Keys.Where(k => k.StartsWith("ponet.encoder.layer.1.attention.self.dense_q", StringComparison.Ordinal)).ToList())
                t.Remove(key);
            t["ponet.encoder.layer.7.output.dense.weight"] = zeros(2, 2);
            t["ponet.pooler.dense.weight"] = zeros(32, 31);
            t.Remove("cls.seq_relationship.bias"); // a partial head is an error, not a new head
        });
        var model = new PoNetForPreTraining(PoNetConfig.Load(Path.Combine(dir, "config.json")));
        var before = model.state_dict()["ponet.embeddings.word_embeddings.weight"].clone();
        var e = Assert.Throws<PoNetInputException>(() => PoNetCheckpoint.LoadWeights(model, dir));
        Assert.Contains("missing keys (3): ponet.encoder.layer.1.attention.self.dense_q.weight, ponet.encoder.layer.1.attention.self.dense_q.bias, cls.seq_relationship.bias", e.Message);
        Assert.Contains("unexpected keys (1): ponet.encoder.layer.7.output.dense.weight", e.Message);
        Assert.Contains("mis-shaped keys (1): ponet.pooler.dense.weight: checkpoint [32, 31], model [32, 32]", e.Message);
        Assert.True(before.equal(model.state_dict()["ponet.embeddings.word_embeddings.weight"]).all().item<bool>(), "nothing was copied");
    }

    [Fact]
    public void TruncatedOrCorruptFilesAreClearErrors()
    {
        foreach (var (file, cut) in new[] { ("model.safetensors", 1000), ("model.safetensors", 20), ("pytorch_model.bin", 5000) })
        {
            var dir = Temp();
            File.Copy(Path.Combine(Golden.Dir("cfgA"), "config.json"), Path.Combine(dir, "config.json"));
            var bytes = File.ReadAllBytes(Path.Combine(Golden.Dir("cfgA"), file));
            File.WriteAllBytes(Path.Combine(dir, file), bytes[..^cut]);
            var e = Assert.Throws<PoNetInputException>(() => PoNetCheckpoint.Load(dir, c => new PoNetForPreTraining(c)));
            Assert.Contains(file, e.Message);
            Assert.Matches("truncated|corrupt", e.Message);
        }
        var garbage = Temp();
        File.Copy(Path.Combine(Golden.Dir("cfgA"), "config.json"), Path.Combine(garbage, "config.json"));
        File.WriteAllText(Path.Combine(garbage, "pytorch_model.bin"), "not a checkpoint");
        var error = Assert.Throws<PoNetInputException>(() => PoNetCheckpoint.Load(garbage, c => new PoNetForPreTraining(c)));
        Assert.Contains("not a zip-format PyTorch checkpoint", error.Message);
        var empty = Temp();
        File.Copy(Path.Combine(Golden.Dir("cfgA"), "config.json"), Path.Combine(empty, "config.json"));
        Assert.Contains("no weights found", Assert.Throws<PoNetInputException>(() => PoNetCheckpoint.Load(empty, c => new PoNetForPreTraining(c))).Message);
    }

    [Fact]
    public void ShardedCheckpointsLoadThroughTheirIndex()
    {
        var dir = Temp();
        var tensors = SafeTensors.Load(Path.Combine(Golden.Dir("cfgA"), "model.safetensors"));
        var first = tensors.Where(p => p.Key.StartsWith("ponet.encoder", StringComparison.Ordinal)).ToDictionary();
        var rest = tensors.Where(p => !first.ContainsKey(p.Key)).ToDictionary();
        SafeTensors.Save(Path.Combine(dir, "model-00001-of-00002.safetensors"), first);
        SafeTensors.Save(Path.Combine(dir, "model-00002-of-00002.safetensors"), rest);
        var map = string.Join(",", first.Keys.Select(k => $"\"{k}\": \"model-00001-of-00002.safetensors\"")
            .Concat(rest.Keys.Select(k => $"\"{k}\": \"model-00002-of-00002.safetensors\"")));
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), $"{{\"metadata\": {{}}, \"weight_map\": {{{map}}}}}");
        File.Copy(Path.Combine(Golden.Dir("cfgA"), "config.json"), Path.Combine(dir, "config.json"));
        var (model, _) = PoNetCheckpoint.Load(dir, c => new PoNetForPreTraining(c));
        Golden.AssertClose(Batch["output.last_hidden_state"], Run(model, Batch).Base.LastHiddenState, 1e-4, 1e-4, "last_hidden_state");
    }

    [Fact]
    public void SavingNeverLeavesAHalfWrittenFile()
    {
        var dir = Temp();
        var path = Path.Combine(dir, "model.safetensors");
        File.WriteAllText(path, "previous");
        Assert.ThrowsAny<Exception>(() => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["x"] = ones(2), ["bad"] = ones(2, dtype: ScalarType.ComplexFloat32) }));
        Assert.Equal("previous", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(dir));
    }
}
