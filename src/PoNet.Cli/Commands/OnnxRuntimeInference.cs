using System.CommandLine;
using PoNet.FineTuning;
using PoNet.Onnx;

namespace PoNet.Cli.Commands;

/// <summary>
/// <c>--runtime onnx</c> of <c>classify</c>, <c>embed</c> and <c>fill-mask</c>: the same answers from an
/// exported .onnx file through PoNet.Onnx (ONNX Runtime, no libtorch in the computation).
/// </summary>
internal static class OnnxRuntimeInference
{
    public static Option<string> RuntimeOption() => new Option<string>("--runtime")
    {
        Description = "torch: --model is a checkpoint folder (libtorch); onnx: --model is a file from ponet export onnx (ONNX Runtime)",
        DefaultValueFactory = _ => "torch",
    }.AcceptOnlyFromAmong("torch", "onnx");

    public static Option<string> ProviderOption() => new("--execution-provider")
    {
        Description = "With --runtime onnx: cpu, cuda, tensorrt or another provider of the ONNX Runtime package in use",
        DefaultValueFactory = _ => "cpu",
    };

    public static bool IsOnnx(ParseResult parse, Option<string> runtime) => parse.GetValue(runtime) == "onnx";

    public static PoNetOnnxPipeline Load(string model, string? vocab, int? threads, string provider, int? maxLength = null) =>
        PoNetOnnxPipeline.Load(model, vocab, new PoNetOnnxOptions { Threads = threads, ExecutionProvider = provider, AllowSpinning = false }, maxLength);

    public static List<TextInput> Texts(IEnumerable<TextExample> examples) => examples.Select(e => new TextInput(e.Text, e.TextPair)).ToList();

}
