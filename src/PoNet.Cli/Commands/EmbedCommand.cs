using System.CommandLine;
using System.Globalization;
using System.Text;
using PoNet.Checkpoints;
using PoNet.Inference;
using static TorchSharp.torch;
using PoNet.IO;

namespace PoNet.Cli.Commands;

/// <summary><c>ponet embed</c>: one vector per text, as JSONL or a safetensors matrix.</summary>
internal static class EmbedCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Any PoNet model folder (pre-trained or fine-tuned), or with --runtime onnx an exported .onnx file", Required = true };
        var input = new Option<string>("--input") { Description = ".jsonl, .tsv or .csv with a text column", Required = true };
        var output = new Option<string>("--output") { Description = ".safetensors (float32 \"embeddings\" [lines, hidden]) or JSONL ({\"embedding\": [...]} per line)", Required = true };
        var pooling = new Option<string>("--pooling") { Description = "cls: last hidden state at [CLS]; mean: mean over the real tokens", DefaultValueFactory = _ => "cls" };
        pooling.AcceptOnlyFromAmong("cls", "mean");
        var columns = InferenceOptions.Create();
        var command = new Command("embed", "Embed texts with a PoNet encoder ([CLS] or mean pooling).");
        foreach (var option in new Option[] { model, input, output, pooling }.Concat(columns.All)) command.Options.Add(option);
        command.SetAction(parse => ExitCodes.Run(() =>
        {
            var outputPath = parse.GetValue(output)!;
            InferenceOptions.CheckOutputFormat(outputPath, ".safetensors", ".jsonl", ".json", ".ndjson");
            float[][] vectors;
            int dimension;
            if (OnnxRuntimeInference.IsOnnx(parse, columns.Runtime))
            {
                using var pipeline = OnnxRuntimeInference.Load(parse.GetValue(model)!, parse.GetValue(columns.Vocab), parse.GetValue(columns.Threads),
                    parse.GetValue(columns.ExecutionProvider)!, parse.GetValue(columns.MaxLength));
                var texts = columns.Read(parse, parse.GetValue(input)!);
                dimension = pipeline.Model.Info.HiddenSize;
                vectors = InferenceOptions.WithProgress(texts.Count, "embedding",
                    report => pipeline.Embed(OnnxRuntimeInference.Texts(texts), parse.GetValue(pooling)!, parse.GetValue(columns.BatchSize), report));
            }
            else
            {
                ThreadsOption.Apply(parse, columns.Threads);
                var embedder = new TextEmbedder(parse.GetValue(model)!, parse.GetValue(columns.Vocab), parse.GetValue(columns.MaxLength));
                var examples = columns.Read(parse, parse.GetValue(input)!);
                dimension = embedder.Dimension;
                vectors = InferenceOptions.WithProgress(examples.Count, "embedding",
                    report => embedder.Embed(examples, parse.GetValue(pooling)!, parse.GetValue(columns.BatchSize), report));
            }
            if (outputPath.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            {
                using var matrix = tensor(vectors.SelectMany(v => v).ToArray(), [vectors.Length, dimension]);
                SafeTensors.Save(outputPath, new Dictionary<string, Tensor> { ["embeddings"] = matrix },
                    new Dictionary<string, string> { ["model"] = parse.GetValue(model)!, ["pooling"] = parse.GetValue(pooling)! });
            }
            else
            {
                var text = new StringBuilder();
                foreach (var v in vectors)
                    text.Append("{\"embedding\":[").AppendJoin(',', v.Select(x => x.ToString("R", CultureInfo.InvariantCulture))).Append("]}\n");
                AtomicFile.WriteAllText(outputPath, text.ToString());
            }
            Console.Error.WriteLine($"ponet embed: {vectors.Length} × {dimension} embeddings written to {outputPath}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
