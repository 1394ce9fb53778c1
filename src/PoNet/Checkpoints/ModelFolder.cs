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

    /// <summary>Writes <paramref name="model"/> (config.json + model.safetensors) and the tokenizer files into the existing folder <paramref name="dir"/>.</summary>
    public static void WriteInto(PoNetTaskModel model, TokenizerFiles tokenizer, string dir)
    {
        PoNetCheckpoint.Save(model, dir);
        tokenizer.WriteTo(dir);
    }

    /// <summary>Reads a folder's weights into <paramref name="model"/>; every parameter must be in it (a checkpoint of this very model).</summary>
    public static void LoadWeightsStrict(PoNetTaskModel model, string dir)
    {
        var report = PoNetCheckpoint.LoadWeights(model, dir);
        if (report.NewlyInitialized.Count > 0)
            throw new PoNetInputException($"{dir}: the checkpoint lacks {string.Join(", ", report.NewlyInitialized.Take(5))}");
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

/// <summary>
/// A model's tokenizer files held in memory, so that every checkpoint a run writes gets them even
/// after the folder they were read from (an older checkpoint) has been replaced.
/// </summary>
public sealed class TokenizerFiles
{
    readonly Dictionary<string, byte[]> files;

    TokenizerFiles(Dictionary<string, byte[]> files) => this.files = files;

    /// <summary>The tokenizer files of a folder, or the one file (vocab.txt or tokenizer.json) given.</summary>
    public static TokenizerFiles Read(string source)
    {
        var files = new Dictionary<string, byte[]>();
        var scratch = Directory.CreateTempSubdirectory("ponet-tokenizer-");
        try
        {
            ModelFolder.CopyTokenizer(source, scratch.FullName);
            foreach (var file in Directory.EnumerateFiles(scratch.FullName))
                files[Path.GetFileName(file)] = File.ReadAllBytes(file);
        }
        catch (IOException e)
        {
            throw new PoNetInputException($"{source}: cannot read the tokenizer files: {e.Message}", e);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
        return new TokenizerFiles(files);
    }

    public void WriteTo(string dir)
    {
        foreach (var (name, bytes) in files) AtomicFile.Write(Path.Combine(dir, name), s => s.Write(bytes));
    }
}
