using PoNet.Checkpoints;
using PoNet.FineTuning;
using PoNet.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PoNet.Tests.Transfer;

public class PositionTilingTests
{
    static (PoNetConfig Config, Dictionary<string, Tensor> Weights) CfgB() =>
        (PoNetConfig.Load(Path.Combine(Golden.Dir("cfgB"), "config.json")),
         PoNetCheckpoint.ReadStateDict(Path.Combine(Golden.Dir("cfgB"), "model.safetensors")));

    [Fact]
    public void RowIOfTheNewTableIsRowIModuloTheOldLength()
    {
        var (config, weights) = CfgB();
        var (tiledConfig, tiled) = PositionEmbeddingTiling.Extend(config, weights, 1300);
        Assert.Equal(1300, tiledConfig.MaxPositionEmbeddings);
        Assert.Equal(512, config.MaxPositionEmbeddings); // the input config is left alone
        var old = weights[PositionEmbeddingTiling.Key];
        var table = tiled[PositionEmbeddingTiling.Key];
        Assert.Equal([1300L, 64L], table.shape);
        for (int i = 0; i < 1300; i++)
            Assert.True(TransferTestData.Same(table[i], old[i % 512]), $"row {i}");
        Assert.False(tiled.ContainsKey("ponet.embeddings.position_ids"));
        Assert.Throws<ArgumentOutOfRangeException>(() => PositionEmbeddingTiling.Extend(config, weights, 256));
    }

    [Theory]
    [InlineData("b0")] // 37 tokens
    [InlineData("b3")] // 512 tokens, the whole original table
    public void InputsThatFitTheOldTableGiveTheSameOutputs(string batchName)
    {
        var (config, weights) = CfgB();
        var (tiledConfig, tiled) = PositionEmbeddingTiling.Extend(config, weights, 4096);
        var (original, _) = PoNetCheckpoint.Load(Golden.Dir("cfgB"), c => new PoNetForPreTraining(c));
        var extended = new PoNetForPreTraining(tiledConfig);
        PoNetCheckpoint.LoadStateDict(extended, tiled, "tiled");
        original.eval();
        extended.eval();
        var batch = InputFile.Read(Golden.Batch("cfgB", batchName), tiledConfig);
        using var _ = no_grad();
        var a = original.forward(batch, null);
        var b = extended.forward(batch, null);
        Assert.True(TransferTestData.Same(a.Logits, b.Logits));
        Assert.True(TransferTestData.Same(a.SsoLogits!, b.SsoLogits!));
        // ...and they are the reference's outputs.
        Golden.AssertClose(Golden.Read(Golden.Batch("cfgB", batchName))["output.sso_logits"], b.SsoLogits!, 1e-4, 1e-4, "sso_logits");
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("fnet")]
    public void BertAndFNetTablesAreTiledUnderTheirOwnPrefix(string arch)
    {
        var (config, _) = CfgB();
        var bertConfig = config.WithArchitecture(arch);
        manual_seed(3);
        var model = new PoNetForSequenceClassification(bertConfig);
        var weights = model.state_dict().ToDictionary(p => p.Key, p => p.Value);
        var (tiledConfig, tiled) = PositionEmbeddingTiling.Extend(bertConfig, weights, 1024);
        var key = $"{arch}.embeddings.position_embeddings.weight";
        Assert.Equal(key, PositionEmbeddingTiling.KeyOf(bertConfig));
        Assert.Equal([1024L, 64L], tiled[key].shape);
        Assert.True(TransferTestData.Same(tiled[key][700], weights[key][700 - 512]));
        var extended = new PoNetForSequenceClassification(tiledConfig);
        Assert.Empty(PoNetCheckpoint.LoadStateDict(extended, tiled, "tiled").NewlyInitialized);
    }
}
