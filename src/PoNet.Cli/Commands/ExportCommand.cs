using System.CommandLine;
using PoNet.Export;

namespace PoNet.Cli.Commands;

/// <summary><c>ponet export onnx</c>: a checkpoint folder as an ONNX graph ONNX Runtime runs without libtorch.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder: config.json + model.safetensors or pytorch_model.bin (+ tokenizer files)", Required = true };
        var output = new Option<string>("--output") { Description = "The .onnx file to write; the tokenizer files are copied beside it", Required = true };
        var head = new Option<string?>("--head") { Description = "base, pretraining, maskedlm, seqcls or tokencls (default: the checkpoint's architecture)" };
        head.AcceptOnlyFromAmong("base", "pretraining", "maskedlm", "seqcls", "tokencls");
        var opset = new Option<int>("--opset") { Description = $"ONNX opset, {PoNetOnnxExporter.MinOpset} to {PoNetOnnxExporter.MaxOpset}", DefaultValueFactory = _ => PoNetOnnxExporter.DefaultOpset };
        var scan = new Option<string>("--segment-scan")
        {
            Description = "loop: ⌈log2 longest segment⌉ steps per batch (default); unrolled: ⌈log2 max positions⌉ steps, no control flow",
            DefaultValueFactory = _ => "loop",
        }.AcceptOnlyFromAmong("loop", "unrolled");
        var segmentIds = new Option<string>("--segment-ids")
        {
            Description = "optional: an overridable input, derived from [CLS]/[SEP] when not fed (ONNX Runtime core/C#; onnxruntime-node ignores it); " +
                          "required: a 4th input (serving engines, other bindings); none: always derived",
            DefaultValueFactory = _ => "optional",
        }.AcceptOnlyFromAmong("optional", "required", "none");
        var onnx = new Command("onnx", "Export a PoNet checkpoint to ONNX (inputs input_ids, attention_mask, token_type_ids [, segment_ids]; outputs as HF Optimum names them).");
        foreach (var option in new Option[] { model, output, head, opset, scan, segmentIds }) onnx.Options.Add(option);
        onnx.SetAction(parse => ExitCodes.Run(() =>
        {
            var headName = parse.GetValue(head);
            var result = PoNetOnnxExporter.Export(parse.GetValue(model)!, parse.GetValue(output)!, new OnnxExportOptions
            {
                Head = headName is null ? null : PoNetOnnxExporter.ParseHead(headName),
                Opset = parse.GetValue(opset),
                SegmentScan = parse.GetValue(scan) == "unrolled" ? SegmentScan.Unrolled : SegmentScan.Loop,
                SegmentIds = parse.GetValue(segmentIds) switch { "required" => SegmentIdsInput.Required, "none" => SegmentIdsInput.None, _ => SegmentIdsInput.Optional },
            });
            Console.Error.WriteLine(
                $"ponet export onnx: {result.ModelPath} (--head {PoNetOnnxExporter.HeadName(result.Head)}, opset {parse.GetValue(opset)}, " +
                $"{result.Nodes} nodes, {result.WeightBytes / 1e6:F1} MB of weights{(result.ExternalDataPath is null ? "" : $" in {result.ExternalDataPath}")}); " +
                $"outputs {string.Join(", ", result.Outputs)}" +
                (result.TokenizerFiles.Count > 0 ? $"; tokenizer: {string.Join(", ", result.TokenizerFiles.Select(Path.GetFileName))}" : "; no tokenizer files in the model folder (pass --vocab at inference)"));
            return ExitCodes.Ok;
        }));
        var command = new Command("export", "Export a checkpoint to another format.");
        command.Subcommands.Add(onnx);
        return command;
    }
}
