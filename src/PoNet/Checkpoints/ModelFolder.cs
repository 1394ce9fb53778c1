using PoNet.Model;
using PoNet.Tokenization;
using PoNet.IO;

namespace PoNet.Checkpoints;

/// <summary>
/// A self-contained model folder: the HF checkpoint (config.json + weights) and the tokenizer files
/// beside it, so that training, fine-tuning and inference need only the folder.
/// </summary>
public static class ModelFolder
{
    static readonly string[] TokenizerFiles = ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

    /// <summary>
    /// The tokenizer for a model: from <paramref name="vocab"/> when given (vocab.txt, tokenizer.json
    /// or a folder), else from the model folder; then checked against the model's config.
    /// </summary>
    public static BertTokenizer LoadTokenizer(string modelDir, string? vocab, PoNetConfig config)
    {
        var source = vocab ?? modelDir;
        if (vocab is null && !TokenizerFiles.Take(2).Any(f => File.Exists(Path.Combine(modelDir, f))))
            throw new PoNetInputException($"{modelDir}: no vocab.txt or tokenizer.json in the model folder; pass --vocab");
        var tokenizer = BertTokenizer.Load(source);
        CheckTokenizer(tokenizer, config, source);
        return tokenizer;
    }

    /// <summary>
    /// The model and tokenizer must agree: every id the tokenizer can produce must be a row of the
    /// embedding, and the model must know which ids are [CLS]/[SEP] (segments and clsgsepg use them).
    /// </summary>
    public static void CheckTokenizer(BertTokenizer tokenizer, PoNetConfig config, string source)
    {
        if (tokenizer.VocabSize > config.VocabSize)
            throw new PoNetInputException(
                $"{source}: the tokenizer has {tokenizer.VocabSize} tokens but the model's vocab_size is {config.VocabSize}; use the model's own vocabulary");
        if (tokenizer.ClsId != config.ClsTokenId || tokenizer.SepId != config.SepTokenId)
            throw new PoNetInputException(
                $"{source}: the tokenizer's [CLS]/[SEP] ids are {tokenizer.ClsId}/{tokenizer.SepId} but the model's config says " +
                $"cls_token_id {config.ClsTokenId}, sep_token_id {config.SepTokenId}; use the model's own vocabulary");
    }

    /// <summary>Copies the tokenizer files of <paramref name="source"/> (a vocab file, tokenizer.json or folder) into <paramref name="dir"/>.</summary>
    public static void CopyTokenizer(string source, string dir)
    {
        if (Directory.Exists(source))
        {
            foreach (var name in TokenizerFiles)
            {
                var path = Path.Combine(source, name);
                if (File.Exists(path)) File.Copy(path, Path.Combine(dir, name), overwrite: true);
            }
            return;
        }
        var text = File.ReadAllText(source).TrimStart('\uFEFF', ' ', '\t', '\r', '\n');
        File.Copy(source, Path.Combine(dir, text.StartsWith('{') ? "tokenizer.json" : "vocab.txt"), overwrite: true);
    }

    /// <summary>Writes <paramref name="model"/> and its tokenizer to <paramref name="dir"/> as one atomic folder swap.</summary>
    public static void Save(PoNetTaskModel model, string tokenizerSource, string dir, Action<string>? extra = null) =>
        AtomicDirectory.Write(dir, tmp =>
        {
            PoNetCheckpoint.Save(model, tmp);
            CopyTokenizer(tokenizerSource, tmp);
            extra?.Invoke(tmp);
        });
}
