using System.CommandLine;
using PoNet.Checkpoints;
using PoNet.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Cli.Commands;

/// <summary>
/// <c>ponet forward</c>: run a checkpoint (PoNet, BERT or FNet, by its config.json's model_type) on a
/// batch file and write its outputs (golden-file names). The sentence head's logits are
/// <c>output.sso_logits</c> for PoNet (3 classes) and <c>output.nsp_logits</c> for BERT and FNet (2).
/// </summary>
internal static class ForwardCommand
{
    public static Command Create()
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "Model folder: config.json + model.safetensors or pytorch_model.bin", Required = true };
        var inputs = new Option<FileInfo>("--inputs") { Description = "safetensors with input.input_ids, input.attention_mask, input.token_type_ids [, input.segment_ids] (int64 [B,N])", Required = true };
        var output = new Option<FileInfo>("--output") { Description = "safetensors file to write (float32)", Required = true };
        var head = new Option<string>("--head") { Description = "pretraining (MLM logits and the sentence head: SSO for PoNet, NSP for BERT/FNet) or seqcls (classifier logits)", DefaultValueFactory = _ => "pretraining" };
        head.AcceptOnlyFromAmong("pretraining", "seqcls");
        var command = new Command("forward", "Run a PoNet, BERT or FNet checkpoint on a batch of token ids and save its outputs.") { model, inputs, output, head };
        command.SetAction(parse => ExitCodes.Run(() =>
            Run(parse.GetValue(model)!.FullName, parse.GetValue(inputs)!.FullName, parse.GetValue(output)!.FullName, parse.GetValue(head)!)));
        return command;
    }

    static int Run(string modelDir, string inputPath, string outputPath, string head)
    {
        if (Directory.Exists(outputPath))
            throw new PoNetInputException($"--output {outputPath}: is a folder; expected the name of a safetensors file to write");
        var (model, report) = head == "seqcls"
            ? PoNetCheckpoint.Load<PoNetTaskModel>(modelDir, c => new PoNetForSequenceClassification(c))
            : PoNetCheckpoint.Load<PoNetTaskModel>(modelDir, c => new PoNetForPreTraining(c));
        if (report.NewlyInitialized.Count > 0)
            throw new PoNetInputException(
                $"{modelDir}: the checkpoint has no weights for the {head} head ({string.Join(", ", report.NewlyInitialized)}); " +
                $"use --head {(head == "seqcls" ? "pretraining" : "seqcls")} or a checkpoint trained with this head");
        model.eval();
        var batch = InputFile.Read(inputPath, model.Config);
        using var _ = no_grad();
        var result = model.forward(batch, null);
        var tensors = new Dictionary<string, Tensor> { ["output.last_hidden_state"] = result.Base.LastHiddenState };
        if (result.Base.PoolerOutput is { } pooled) tensors["output.pooler_output"] = pooled;
        if (head == "seqcls") tensors["output.seqcls_logits"] = result.Logits;
        else
        {
            tensors["output.mlm_logits"] = result.Logits;
            // PoNet's sentence structural objective, or BERT's/FNet's next-sentence prediction.
            tensors[$"output.{model.Config.Family.SentenceObjective}_logits"] = result.SsoLogits!;
        }
        SafeTensors.Save(outputPath, tensors, new Dictionary<string, string> { ["model"] = modelDir, ["head"] = head });
        Console.Error.WriteLine($"ponet forward: {report}; wrote {string.Join(", ", tensors.Keys)} to {outputPath}");
        return ExitCodes.Ok;
    }
}
