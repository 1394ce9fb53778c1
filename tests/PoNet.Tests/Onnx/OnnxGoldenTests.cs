using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using PoNet.Export;
using Xunit;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace PoNet.Tests.Onnx;

/// <summary>The exported graph, run in ONNX Runtime, against the reference implementation's golden outputs.</summary>
public class OnnxGoldenTests
{
    const double HiddenTol = 1e-4, MlmAtol = 1e-3;

    /// <summary>One export per (config, head) for the whole test run.</summary>
    static readonly Dictionary<string, string> Exports = [];
    static readonly Lock ExportLock = new();

    internal static string Exported(string cfg, string head, SegmentScan scan = SegmentScan.Loop)
    {
        lock (ExportLock)
        {
            var key = cfg + "/" + head + "/" + scan;
            if (Exports.TryGetValue(key, out var path)) return path;
            var dir = TestTemp.Dir("ponet-onnx-");
            var source = head == "seqcls" ? Path.Combine(Golden.Dir(cfg), "seqcls") : Golden.Dir(cfg);
            path = Path.Combine(dir, "model.onnx");
            PoNetOnnxExporter.Export(source, path, new OnnxExportOptions { Head = PoNetOnnxExporter.ParseHead(head), SegmentScan = scan });
            Exports[key] = path;
            return path;
        }
    }

    /// <summary>Every batch of both configs and both heads with the Loop scan (the default); the unrolled scan on the pre-training head.</summary>
    public static TheoryData<string, string, string, SegmentScan> Batches()
    {
        var data = new TheoryData<string, string, string, SegmentScan>();
        foreach (var cfg in new[] { "cfgA", "cfgB" })
            foreach (var b in new[] { "b0", "b1", "b2", "b3", "b4" })
            {
                foreach (var head in new[] { "pretraining", "seqcls" })
                    data.Add(cfg, b, head, SegmentScan.Loop);
                data.Add(cfg, b, "pretraining", SegmentScan.Unrolled);
            }
        return data;
    }

    internal static NamedOnnxValue Input(string name, Tensor t) =>
        NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(t.contiguous().data<long>().ToArray(), t.shape.Select(d => (int)d).ToArray()));

    internal static Tensor ToTorch(DisposableNamedOnnxValue value)
    {
        var t = value.AsTensor<float>();
        return tensor(t.ToArray(), t.Dimensions.ToArray().Select(d => (long)d).ToArray());
    }

    [Theory]
    [MemberData(nameof(Batches))]
    public void OnnxRuntimeOutputsMatchReference(string cfg, string batchName, string head, SegmentScan scan)
    {
        using var session = new InferenceSession(Exported(cfg, head, scan));
        var batch = Golden.Read(Golden.Batch(cfg, batchName));
        var inputs = new List<NamedOnnxValue>
        {
            Input("input_ids", batch["input.input_ids"]),
            Input("attention_mask", batch["input.attention_mask"]),
            Input("token_type_ids", batch["input.token_type_ids"]),
        };
        if (batch.TryGetValue("input.segment_ids", out var seg)) inputs.Add(Input("segment_ids", seg));
        using var results = session.Run(inputs);
        var output = results.ToDictionary(r => r.Name, ToTorch);

        Golden.AssertClose(batch["output.last_hidden_state"], output["last_hidden_state"], HiddenTol, HiddenTol, "last_hidden_state");
        Golden.AssertClose(batch["output.pooler_output"], output["pooler_output"], HiddenTol, HiddenTol, "pooler_output");
        if (head == "pretraining")
        {
            Golden.AssertClose(batch["output.mlm_logits"], output["logits"], MlmAtol, 0, "logits (MLM)");
            Golden.AssertClose(batch["output.sso_logits"], output["sso_logits"], HiddenTol, HiddenTol, "sso_logits");
        }
        else Golden.AssertClose(batch["output.seqcls_logits"], output["logits"], HiddenTol, HiddenTol, "logits (seqcls)");
    }
}
