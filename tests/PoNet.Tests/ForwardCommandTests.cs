using PoNet.Checkpoints;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PoNet.Tests;

[Collection(nameof(ConsoleRedirection))]
public class ForwardCommandTests
{
    static string Temp() => TestTemp.Dir("ponet-fwd-");

    [Theory]
    [InlineData("cfgA", "b1", "pretraining")]
    [InlineData("cfgB", "b4", "pretraining")]
    [InlineData("cfgB", "b0", "seqcls")]
    public void WritesTheGoldenOutputsUnderTheGoldenNames(string cfg, string batch, string head)
    {
        var output = Path.Combine(Temp(), "out.safetensors");
        var model = head == "seqcls" ? Path.Combine(Golden.Dir(cfg), "seqcls") : Golden.Dir(cfg);
        Assert.Equal(0, Cli.Program.Main(["forward", "--model", model, "--inputs", Golden.Batch(cfg, batch), "--output", output, "--head", head]));
        var expected = Golden.Read(Golden.Batch(cfg, batch));
        var actual = SafeTensors.Load(output);
        var names = head == "seqcls"
            ? new[] { "output.last_hidden_state", "output.pooler_output", "output.seqcls_logits" }
            : new[] { "output.last_hidden_state", "output.pooler_output", "output.mlm_logits", "output.sso_logits" };
        Assert.Equal(names.Order(), actual.Keys.Order());
        foreach (var name in names)
        {
            Assert.Equal(ScalarType.Float32, actual[name].dtype);
            Golden.AssertClose(expected[name], actual[name], name == "output.mlm_logits" ? 1e-3 : 1e-4, name == "output.mlm_logits" ? 0 : 1e-4, name);
        }
    }

    public static TheoryData<string, string> BadInputs() => new()
    {
        { "missing", "missing tensor 'input.token_type_ids'" },
        { "dtype", "'input.attention_mask' is Int32: expected int64" },
        { "vocab", "input.input_ids[1, 3] = 100: expected 0..99 (vocab_size = 100)" },
        { "length", "sequence length 129 exceeds the model's max_position_embeddings = 128" },
        { "shape", "'input.token_type_ids' has shape [2, 12] but 'input.input_ids' has [2, 13]" },
        { "segments", "segment_ids[0, 5]" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void BadInputExitsWithCode2AndWritesNothing(string defect, string message)
    {
        var batch = Golden.Read(Golden.Batch("cfgA", "b1"));
        var inputs = new Dictionary<string, Tensor>
        {
            ["input.input_ids"] = batch["input.input_ids"].clone(), ["input.attention_mask"] = batch["input.attention_mask"],
            ["input.token_type_ids"] = batch["input.token_type_ids"], ["input.segment_ids"] = batch["input.segment_ids"].clone(),
        };
        switch (defect)
        {
            case "missing": inputs.Remove("input.token_type_ids"); break;
            case "dtype": inputs["input.attention_mask"] = inputs["input.attention_mask"].to(ScalarType.Int32); break;
            case "vocab": inputs["input.input_ids"][1, 3] = tensor(100L); break;
            case "length": foreach (var k in inputs.Keys.ToList()) inputs[k] = zeros(2, 129, dtype: inputs[k].dtype); break;
            case "shape": inputs["input.token_type_ids"] = inputs["input.token_type_ids"][.., ..12]; break;
            case "segments": inputs["input.segment_ids"][0, 5] = tensor(-1L); break;
        }
        var dir = Temp();
        var input = Path.Combine(dir, "in.safetensors");
        SafeTensors.Save(input, inputs);
        var output = Path.Combine(dir, "out.safetensors");
        var stderr = new StringWriter();
        var previous = Console.Error;
        Console.SetError(stderr);
        int code;
        try
        {
            code = Cli.Program.Main(["forward", "--model", Golden.Dir("cfgA"), "--inputs", input, "--output", output]);
        }
        finally
        {
            Console.SetError(previous);
        }
        Assert.Equal(2, code);
        Assert.False(File.Exists(output));
        Assert.Contains(message, stderr.ToString());
        Assert.Single(stderr.ToString().Trim().Split('\n'));
    }

    [Theory]
    [InlineData("bert", "pretraining")]
    [InlineData("fnet", "pretraining")]
    [InlineData("bert", "seqcls")]
    [InlineData("fnet", "seqcls")]
    public void BertAndFNetCheckpointsWriteNspOrClassifierLogits(string arch, string head)
    {
        manual_seed(41);
        var config = ArchitectureTests.Tiny(arch);
        PoNet.Model.PoNetTaskModel model = head == "seqcls"
            ? new PoNet.Model.PoNetForSequenceClassification(config)
            : new PoNet.Model.PoNetForPreTraining(config);
        var dir = Temp();
        PoNetCheckpoint.Save(model, dir);
        var ids = tensor(new long[,] { { 1, 5, 6, 2, 8, 2 }, { 1, 11, 2, 13, 2, 0 } });
        var inputs = new Dictionary<string, Tensor>
        {
            ["input.input_ids"] = ids, ["input.attention_mask"] = ids.ne(0).to(ScalarType.Int64),
            ["input.token_type_ids"] = tensor(new long[,] { { 0, 0, 0, 1, 1, 1 }, { 0, 0, 0, 1, 1, 0 } }),
        };
        var input = Path.Combine(dir, "in.safetensors");
        SafeTensors.Save(input, inputs);
        var output = Path.Combine(dir, "out.safetensors");
        Assert.Equal(0, Cli.Program.Main(["forward", "--model", dir, "--inputs", input, "--output", output, "--head", head]));

        var actual = SafeTensors.Load(output);
        var names = head == "seqcls"
            ? new[] { "output.last_hidden_state", "output.pooler_output", "output.seqcls_logits" }
            : new[] { "output.last_hidden_state", "output.pooler_output", "output.mlm_logits", "output.nsp_logits" };
        Assert.Equal(names.Order(), actual.Keys.Order());
        model.eval();
        using var _ = no_grad();
        var expected = model.forward(new PoNet.Model.PoNetInputs(ids, inputs["input.attention_mask"], inputs["input.token_type_ids"]), null);
        var logits = head == "seqcls" ? "output.seqcls_logits" : "output.mlm_logits";
        Golden.AssertClose(expected.Logits, actual[logits], 1e-6, 1e-6, logits);
        if (head == "pretraining")
        {
            Assert.Equal(new long[] { 2, 2 }, actual["output.nsp_logits"].shape);
            Golden.AssertClose(expected.SsoLogits!, actual["output.nsp_logits"], 1e-6, 1e-6, "nsp_logits");
        }
    }
}
