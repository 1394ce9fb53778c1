using System.CommandLine;
using System.Text;
using System.Text.Json;
using PoNet.FineTuning;
using PoNet.Inference;
using PoNet.IO;

namespace PoNet.Cli.Commands;

/// <summary><c>ponet classify</c>: a fine-tuned classifier over a file of texts, one JSON line per input line.</summary>
internal static class ClassifyCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Fine-tuned model folder (ponet finetune's best/), or with --runtime onnx a --head seqcls export", Required = true };
        var input = new Option<string>("--input") { Description = ".jsonl, .tsv or .csv with a text (and optionally text_pair) column", Required = true };
        var output = new Option<string?>("--output") { Description = "JSONL to write (default: standard output)" };
        var columns = InferenceOptions.Create();
        var command = new Command("classify", "Classify texts with a fine-tuned PoNet: label and probabilities per line (JSONL).");
        foreach (var option in new Option[] { model, input, output }.Concat(columns.All)) command.Options.Add(option);
        command.SetAction(parse => ExitCodes.Run(() =>
        {
            var inputPath = parse.GetValue(input)!;
            var outputPath = parse.GetValue(output);
            if (outputPath is not null) InferenceOptions.CheckOutputFormat(outputPath, ".jsonl", ".json", ".ndjson");
            List<Classification> results;
            if (OnnxRuntimeInference.IsOnnx(parse, columns.Runtime))
            {
                using var pipeline = OnnxRuntimeInference.Load(parse.GetValue(model)!, parse.GetValue(columns.Vocab), parse.GetValue(columns.Threads),
                    parse.GetValue(columns.ExecutionProvider)!, parse.GetValue(columns.MaxLength));
                var texts = columns.Read(parse, inputPath);
                results = InferenceOptions.WithProgress(texts.Count, "classifying",
                    report => pipeline.Classify(OnnxRuntimeInference.Texts(texts), parse.GetValue(columns.BatchSize), report))
                    .Select(r => new Classification(r.Label, r.Probabilities, r.Score)).ToList();
            }
            else
            {
                ThreadsOption.Apply(parse, columns.Threads);
                var classifier = new TextClassifier(parse.GetValue(model)!, parse.GetValue(columns.Vocab), parse.GetValue(columns.MaxLength));
                var examples = columns.Read(parse, inputPath);
                results = InferenceOptions.WithProgress(examples.Count, "classifying",
                    report => classifier.Classify(examples, parse.GetValue(columns.BatchSize), report));
            }
            var text = new StringBuilder();
            foreach (var r in results)
                text.Append(JsonSerializer.Serialize(r.Score is { } score
                    ? (object)new { score }
                    : new { label = r.Label, probabilities = r.Probabilities })).Append('\n');
            if (outputPath is null) Console.Write(text.ToString());
            else
            {
                AtomicFile.WriteAllText(outputPath, text.ToString());
                Console.Error.WriteLine($"ponet classify: {results.Count} lines written to {outputPath}");
            }
            return ExitCodes.Ok;
        }));
        return command;
    }
}
