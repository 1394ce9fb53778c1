using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using PoNet.Inference;
using Spectre.Console;

namespace PoNet.Cli.Commands;

/// <summary><c>ponet fill-mask</c>: the most likely tokens for each [MASK] of a text.</summary>
internal static class FillMaskCommand
{
    public static Command Create()
    {
        var text = new Argument<string>("text") { Description = "Text with one or more [MASK] tokens" };
        var model = new Option<string>("--model") { Description = "Model folder with an MLM head (pre-training or masked-LM checkpoint), or with --runtime onnx an MLM export", Required = true };
        var vocab = new Option<string?>("--vocab") { Description = "Tokenizer, when the model folder has none" };
        var topK = new Option<int>("--top-k") { Description = "Candidates per mask", DefaultValueFactory = _ => 5 };
        var pair = new Option<string?>("--text-pair") { Description = "A second text: encoded as [CLS] text [SEP] pair [SEP], as in pre-training" };
        var json = new Option<bool>("--json") { Description = "Print JSON: one list of {token, token_id, score} per mask" };
        var runtime = OnnxRuntimeInference.RuntimeOption();
        var provider = OnnxRuntimeInference.ProviderOption();
        var threads = new Option<int?>("--threads") { Description = "With --runtime onnx: ONNX Runtime intra-op threads" };
        var command = new Command("fill-mask", "Predict the tokens hidden behind [MASK] in a text.");
        command.Arguments.Add(text);
        foreach (var option in new Option[] { model, vocab, topK, pair, json, runtime, provider, threads }) command.Options.Add(option);
        command.SetAction(parse => ExitCodes.Run(() =>
        {
            List<MaskPrediction> predictions;
            if (OnnxRuntimeInference.IsOnnx(parse, runtime))
            {
                using var pipeline = OnnxRuntimeInference.Load(parse.GetValue(model)!, parse.GetValue(vocab), parse.GetValue(threads), parse.GetValue(provider)!);
                predictions = pipeline.FillMask(parse.GetValue(text)!, parse.GetValue(topK), parse.GetValue(pair))
                    .Select(p => new MaskPrediction(p.Position, p.Candidates.Select(c => new MaskCandidate(c.Token, c.TokenId, c.Score)).ToList())).ToList();
            }
            else
            {
                var fill = new FillMask(parse.GetValue(model)!, parse.GetValue(vocab));
                predictions = fill.Predict(parse.GetValue(text)!, parse.GetValue(topK), parse.GetValue(pair));
            }
            if (parse.GetValue(json))
            {
                var output = predictions.Select(p => p.Candidates.Select(c => new { token = c.Token, token_id = c.TokenId, score = c.Score }));
                Console.WriteLine(JsonSerializer.Serialize(output));
                return ExitCodes.Ok;
            }
            var table = new Table().AddColumn("mask").AddColumn("rank").AddColumn("token").AddColumn(new TableColumn("probability").RightAligned());
            for (int m = 0; m < predictions.Count; m++)
                for (int r = 0; r < predictions[m].Candidates.Count; r++)
                {
                    var c = predictions[m].Candidates[r];
                    table.AddRow((m + 1).ToString(), (r + 1).ToString(), Markup.Escape(c.Token), c.Score.ToString("F4", CultureInfo.InvariantCulture));
                }
            ConsoleProgress.Console().Write(table);
            return ExitCodes.Ok;
        }));
        return command;
    }
}
