using System.Text.Json.Nodes;
using PoNet.Model;
using Xunit;

namespace PoNet.Tests;

public class ConfigTests
{
    static string GoldenConfig => File.ReadAllText(Path.Combine(Golden.Dir("cfgB"), "config.json"));

    [Fact]
    public void ReadsEveryKeyOfTheReferenceConfig()
    {
        var c = PoNetConfig.FromJson(GoldenConfig);
        Assert.Equal((1000, 64, 3, 8, 128, 512, 2), (c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize, c.MaxPositionEmbeddings, c.TypeVocabSize));
        Assert.Equal(("gelu", 0.1, 0.1, 0.02, 1e-12, 0, "absolute", true, "ponet"),
            (c.HiddenAct, c.HiddenDropoutProb, c.AttentionProbsDropoutProb, c.InitializerRange, c.LayerNormEps, c.PadTokenId, c.PositionEmbeddingType, c.ClsGSepG, c.ModelType));
        Assert.Equal(["PoNetForPreTraining"], c.Architectures!);
        Assert.Null(c.ClassifierDropout);
    }

    [Fact]
    public void UnknownKeysSurviveASaveAndLoad()
    {
        var json = JsonNode.Parse(GoldenConfig)!.AsObject();
        json["auto_map"] = new JsonObject { ["AutoModel"] = "modeling_ponet.PoNetModel" };
        json["torch_dtype"] = "float32";
        var saved = JsonNode.Parse(PoNetConfig.FromJson(json.ToJsonString()).ToJson())!.AsObject();
        foreach (var key in new[] { "auto_map", "torch_dtype", "transformers_version", "use_cache", "gradient_checkpointing" })
            Assert.Equal(json[key]!.ToJsonString(), saved[key]!.ToJsonString());
        Assert.True(saved.ContainsKey("classifier_dropout"), "classifier_dropout: null is written, as HF does");
        Assert.Null(saved["classifier_dropout"]);
    }

    [Fact]
    public void ClsgsepgDefaultsToTrueAndClassifierDropoutMayBeNumberOrNull()
    {
        var json = JsonNode.Parse(GoldenConfig)!.AsObject();
        json.Remove("clsgsepg");
        json["classifier_dropout"] = 0.3;
        var c = PoNetConfig.FromJson(json.ToJsonString());
        Assert.True(c.ClsGSepG);
        Assert.Equal(0.3, c.ClassifierDropout);
    }

    [Theory]
    [InlineData("hidden_size", "30", "'hidden_size' = 30 is not divisible by 'num_attention_heads' = 8")]
    [InlineData("num_attention_heads", "0", "'num_attention_heads' = 0: expected a positive number")]
    [InlineData("vocab_size", "-5", "'vocab_size' = -5: expected a positive number")]
    [InlineData("hidden_act", "\"relu\"", "'hidden_act' = \"relu\": expected one of \"gelu\"")]
    [InlineData("pad_token_id", "1000", "'pad_token_id' = 1000: expected a token id in [0, 1000)")]
    [InlineData("hidden_dropout_prob", "1.5", "'hidden_dropout_prob' = 1.5: expected a probability in [0, 1)")]
    [InlineData("position_embedding_type", "\"relative_key\"", "'position_embedding_type' = \"relative_key\": expected \"absolute\"")]
    public void InvalidValuesNameTheKeyTheValueAndWhatWasExpected(string key, string value, string message)
    {
        var json = JsonNode.Parse(GoldenConfig)!.AsObject();
        json[key] = JsonNode.Parse(value);
        var e = Assert.Throws<PoNetInputException>(() => PoNetConfig.FromJson(json.ToJsonString(), "my/config.json"));
        Assert.StartsWith("my/config.json: ", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void WrongTypesAndMalformedJsonNameTheKeyAndLine()
    {
        var json = JsonNode.Parse(GoldenConfig)!.AsObject();
        json["hidden_size"] = "wide";
        var e = Assert.Throws<PoNetInputException>(() => PoNetConfig.FromJson(json.ToJsonString(), "c.json"));
        Assert.Contains("'hidden_size'", e.Message);

        e = Assert.Throws<PoNetInputException>(() => PoNetConfig.FromJson("{\n  \"vocab_size\": 10,\n  oops\n}", "c.json"));
        Assert.StartsWith("c.json:3", e.Message);
    }
}
