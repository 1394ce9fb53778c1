using System.Text.Json;
using Google.Protobuf;
using PoNet.Tests.Lra;
using PoNet.Tests.Transfer;
using Xunit;

namespace PoNet.Tests.Onnx;

/// <summary>ponet export onnx and the --runtime onnx inference commands, in-process through Program.Main.</summary>
[Collection(nameof(ConsoleRedirection))]
public class OnnxCommandTests
{
    static (int Code, string Out, string Error) Run(params string[] args) => CliRun.Run(args);

    /// <summary>A golden model folder with a vocabulary (token "wN" for id N) beside it, as a user's folder would be.</summary>
    static string ModelWithVocab(TempDir temp, string source, int maskId = 103)
    {
        var dir = Path.Combine(temp.Path, "model-" + Path.GetFileName(source));
        Directory.CreateDirectory(dir);
        foreach (var f in new[] { "config.json", "model.safetensors" }) File.Copy(Path.Combine(source, f), Path.Combine(dir, f));
        File.Copy(FillMaskTests.CfgBVocab(maskId), Path.Combine(dir, "vocab.txt"));
        return dir;
    }

    static void AssertOneLineUsageError((int Code, string Out, string Error) result, string expected)
    {
        Assert.Equal(2, result.Code);
        var lines = result.Error.TrimEnd('\n').Split('\n');
        Assert.True(lines.Length == 1, $"expected one line, got: {result.Error}");
        Assert.Contains(expected, lines[0]);
    }

    [Fact]
    public void ExportThenClassifyAndEmbedGiveTheTorchAnswers()
    {
        using var temp = new TempDir();
        var model = ModelWithVocab(temp, Path.Combine(Golden.Dir("cfgB"), "seqcls"));
        var onnx = Path.Combine(temp.Path, "export", "model.onnx");
        var (code, _, error) = Run("export", "onnx", "--model", model, "--output", onnx);
        Assert.True(code == 0, error);
        Assert.Contains("--head seqcls", error);
        Assert.True(File.Exists(Path.Combine(temp.Path, "export", "vocab.txt")), "the tokenizer goes beside the model");

        var input = temp.Write("in.jsonl", """
            {"text": "w5 w6 w7", "text_pair": "w9 w10"}
            {"text": "w500 w3"}
            {"text": "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16"}
            {"text": ""}
            """);
        string torchOut = Path.Combine(temp.Path, "torch.jsonl"), onnxOut = Path.Combine(temp.Path, "onnx.jsonl");
        Assert.Equal(0, Run("classify", "--model", model, "--input", input, "--output", torchOut).Code);
        (code, _, error) = Run("classify", "--runtime", "onnx", "--model", onnx, "--input", input, "--output", onnxOut, "--batch-size", "2", "--threads", "1");
        Assert.True(code == 0, error);
        var expected = File.ReadAllLines(torchOut).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var actual = File.ReadAllLines(onnxOut).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(4, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].GetProperty("label").GetString(), actual[i].GetProperty("label").GetString());
            foreach (var p in expected[i].GetProperty("probabilities").EnumerateObject())
                Assert.Equal(p.Value.GetDouble(), actual[i].GetProperty("probabilities").GetProperty(p.Name).GetDouble(), 1e-5);
        }

        foreach (var pooling in new[] { "cls", "mean" })
        {
            string torchVectors = Path.Combine(temp.Path, $"torch-{pooling}.jsonl"), onnxVectors = Path.Combine(temp.Path, $"onnx-{pooling}.jsonl");
            Assert.Equal(0, Run("embed", "--model", model, "--input", input, "--output", torchVectors, "--pooling", pooling).Code);
            (code, _, error) = Run("embed", "--runtime", "onnx", "--model", onnx, "--input", input, "--output", onnxVectors, "--pooling", pooling);
            Assert.True(code == 0, error);
            var e = File.ReadAllLines(torchVectors).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("embedding").EnumerateArray().Select(x => x.GetDouble()).ToArray()).ToList();
            var a = File.ReadAllLines(onnxVectors).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("embedding").EnumerateArray().Select(x => x.GetDouble()).ToArray()).ToList();
            Assert.Equal(e.Count, a.Count);
            for (int i = 0; i < e.Count; i++)
                for (int j = 0; j < e[i].Length; j++)
                    Assert.True(Math.Abs(e[i][j] - a[i][j]) <= 1e-4 + 1e-4 * Math.Abs(e[i][j]), $"{pooling} row {i} dim {j}: {a[i][j]} vs {e[i][j]}");
        }
    }

    [Fact]
    public void FillMaskOnOnnxGivesTheTorchCandidates()
    {
        using var temp = new TempDir();
        var model = ModelWithVocab(temp, Golden.Dir("cfgB"), maskId: 103);
        var onnx = Path.Combine(temp.Path, "export", "model.onnx");
        Assert.Equal(0, Run("export", "onnx", "--model", model, "--output", onnx, "--head", "pretraining").Code);
        string[] args = ["fill-mask", "w5 w6 [MASK] w8", "--text-pair", "w9 [MASK]", "--top-k", "4", "--json"];
        var torchRun = Run([.. args, "--model", model]);
        var onnxRun = Run([.. args, "--model", onnx, "--runtime", "onnx"]);
        Assert.True(onnxRun.Code == 0, onnxRun.Error);
        var expected = JsonDocument.Parse(torchRun.Out).RootElement;
        var actual = JsonDocument.Parse(onnxRun.Out).RootElement;
        Assert.Equal(2, actual.GetArrayLength());
        for (int m = 0; m < 2; m++)
            for (int r = 0; r < 4; r++)
            {
                Assert.Equal(expected[m][r].GetProperty("token").GetString(), actual[m][r].GetProperty("token").GetString());
                Assert.Equal(expected[m][r].GetProperty("score").GetDouble(), actual[m][r].GetProperty("score").GetDouble(), 1e-5);
            }
    }

    [Fact]
    public void ModelsThatCannotBeExportedFailInOneLineAndWriteNothing()
    {
        using var temp = new TempDir();
        var output = Path.Combine(temp.Path, "out", "model.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        File.WriteAllText(output, "previous export");

        // A PoNet checkpoint whose config.json says BERT: its architectures name no BERT head, and its weights are PoNet's.
        var bert = ModelWithVocab(temp, Golden.Dir("cfgA"));
        File.WriteAllText(Path.Combine(bert, "config.json"), File.ReadAllText(Path.Combine(bert, "config.json")).Replace("\"ponet\"", "\"bert\""));
        AssertOneLineUsageError(Run("export", "onnx", "--model", bert, "--output", output), "unknown architecture; expected BertModel, BertForPreTraining");
        AssertOneLineUsageError(Run("export", "onnx", "--model", bert, "--output", output, "--head", "pretraining"),
            "key 'ponet.embeddings.LayerNorm.bias' belongs to a ponet model, but config.json says model_type \"bert\"");

        // An architecture the project does not know.
        var unknown = ModelWithVocab(temp, Path.Combine(Golden.Dir("cfgB"), "seqcls"));
        File.WriteAllText(Path.Combine(unknown, "config.json"),
            File.ReadAllText(Path.Combine(unknown, "config.json")).Replace("PoNetForSequenceClassification", "PoNetForQuestionAnswering"));
        AssertOneLineUsageError(Run("export", "onnx", "--model", unknown, "--output", output), "unknown architecture");

        // A head whose weights the checkpoint lacks.
        AssertOneLineUsageError(Run("export", "onnx", "--model", Golden.Dir("cfgB"), "--output", output, "--head", "seqcls"),
            "the checkpoint has no weights for classifier.weight, classifier.bias");
        AssertOneLineUsageError(Run("export", "onnx", "--model", Path.Combine(Golden.Dir("cfgB"), "seqcls"), "--output", output, "--head", "pretraining"),
            "the checkpoint has no weights for cls.");
        AssertOneLineUsageError(Run("export", "onnx", "--model", Golden.Dir("cfgB"), "--output", output, "--opset", "16"), "--opset 16");
        AssertOneLineUsageError(Run("export", "onnx", "--model", Path.Combine(temp.Path, "nothing"), "--output", output), "model folder not found");

        Assert.Equal("previous export", File.ReadAllText(output));
        Assert.Equal(["model.onnx"], Directory.GetFiles(Path.GetDirectoryName(output)!).Select(Path.GetFileName));
    }

    [Fact]
    public void FilesThatAreNotPoNetExportsFailInOneLine()
    {
        using var temp = new TempDir();
        var input = temp.Write("in.jsonl", "{\"text\": \"w5\"}\n");
        File.Copy(FillMaskTests.CfgBVocab(103), Path.Combine(temp.Path, "vocab.txt"));
        var garbage = temp.Write("garbage.onnx", "this is not protobuf");
        AssertOneLineUsageError(Run("classify", "--runtime", "onnx", "--model", garbage, "--input", input), "garbage.onnx: not an ONNX model");

        // A valid ONNX model (one Identity) that is not a PoNet export.
        var other = new global::Onnx.ModelProto { IrVersion = 8, Graph = new global::Onnx.GraphProto { Name = "identity" } };
        other.OpsetImport.Add(new global::Onnx.OperatorSetIdProto { Version = 17 });
        var node = new global::Onnx.NodeProto { OpType = "Identity" };
        node.Input.Add("x");
        node.Output.Add("y");
        other.Graph.Node.Add(node);
        other.Graph.Input.Add(Export.OnnxGraph.Value("x", global::Onnx.TensorProto.Types.DataType.Float, 1));
        other.Graph.Output.Add(Export.OnnxGraph.Value("y", global::Onnx.TensorProto.Types.DataType.Float, 1));
        var identity = temp.Write("identity.onnx", other.ToByteArray());
        AssertOneLineUsageError(Run("embed", "--runtime", "onnx", "--model", identity, "--input", input, "--output", Path.Combine(temp.Path, "e.jsonl")),
            "not a PoNet export");
        AssertOneLineUsageError(Run("fill-mask", "w5 [MASK]", "--runtime", "onnx", "--model", Path.Combine(temp.Path, "missing.onnx")), "not found");
        Assert.False(File.Exists(Path.Combine(temp.Path, "e.jsonl")));

        // A PoNet export of the wrong head for the command.
        var onnx = OnnxGoldenTests.Exported("cfgB", "pretraining");
        File.Copy(FillMaskTests.CfgBVocab(103), Path.Combine(Path.GetDirectoryName(onnx)!, "vocab.txt"), overwrite: true);
        AssertOneLineUsageError(Run("classify", "--runtime", "onnx", "--model", onnx, "--input", input), "classify needs a sequence-classification export");
    }
}
