using System.Collections;
using System.Text.Json;
using PoNet.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Checkpoints;

/// <summary>What a load did besides copying matching tensors.</summary>
public sealed record LoadReport(string WeightsFile, IReadOnlyList<string> NewlyInitialized, IReadOnlyList<string> Ignored)
{
    public override string ToString() =>
        $"loaded {WeightsFile}" +
        (NewlyInitialized.Count > 0 ? $"; newly initialised (not in the checkpoint): {string.Join(", ", NewlyInitialized)}" : "") +
        (Ignored.Count > 0 ? $"; ignored (not used by this model): {string.Join(", ", Ignored)}" : "");
}

/// <summary>
/// HuggingFace-layout model folders: config.json plus model.safetensors, pytorch_model.bin or a
/// sharded index. Names and shapes are compared before anything is copied, so a load either
/// succeeds completely or fails with the exact lists of differences.
/// </summary>
public static class PoNetCheckpoint
{
    public const string ConfigFile = "config.json";
    public const string SafeTensorsFile = "model.safetensors";
    public const string PyTorchFile = "pytorch_model.bin";

    /// <summary>
    /// Buffers that carry no information (docs/MODEL.md §3): the PoNet reference's position_ids, and
    /// the position_ids/token_type_ids that HF BERT and FNet checkpoints of older versions persisted.
    /// </summary>
    static bool IsIgnorableBuffer(string key) => key.EndsWith("embeddings.position_ids", StringComparison.Ordinal)
                                                 || key.EndsWith("embeddings.token_type_ids", StringComparison.Ordinal);

    /// <summary>
    /// The TensorFlow-converted BERT checkpoints (bert-base-uncased's pytorch_model.bin) name LayerNorm
    /// parameters gamma/beta; HF renames them to weight/bias on load, and so does this.
    /// </summary>
    static string LegacyLayerNormName(string key, IReadOnlyDictionary<string, Tensor> expected)
    {
        if (key.EndsWith(".gamma", StringComparison.Ordinal) && expected.ContainsKey(key[..^6] + ".weight")) return key[..^6] + ".weight";
        if (key.EndsWith(".beta", StringComparison.Ordinal) && expected.ContainsKey(key[..^5] + ".bias")) return key[..^5] + ".bias";
        return key;
    }

    /// <summary>Loads config.json, builds the model with <paramref name="create"/>, and loads the weights into it.</summary>
    public static (T model, LoadReport report) Load<T>(string dir, Func<PoNetConfig, T> create, Action<PoNetConfig>? configure = null)
        where T : PoNetTaskModel
    {
        if (!Directory.Exists(dir)) throw new PoNetInputException($"{dir}: model folder not found");
        var config = PoNetConfig.Load(Path.Combine(dir, ConfigFile));
        configure?.Invoke(config);
        config.Validate(Path.Combine(dir, ConfigFile));
        var model = create(config);
        var report = LoadWeights(model, dir);
        return (model, report);
    }

    /// <summary>Finds the weights file(s) of a folder: safetensors first, then PyTorch, single or sharded.</summary>
    public static IReadOnlyList<string> WeightFiles(string dir)
    {
        foreach (var single in new[] { SafeTensorsFile, PyTorchFile })
        {
            var path = Path.Combine(dir, single);
            if (File.Exists(path)) return [path];
        }
        foreach (var index in new[] { SafeTensorsFile + ".index.json", PyTorchFile + ".index.json" })
        {
            var path = Path.Combine(dir, index);
            if (!File.Exists(path)) continue;
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(path));
                var map = doc.RootElement.GetProperty("weight_map");
                return map.EnumerateObject().Select(p => Path.Combine(dir, p.Value.GetString()!)).Distinct().ToList();
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new PoNetInputException($"{path}: invalid shard index: expected {{\"weight_map\": {{key: file}}}}: {e.Message}", e);
            }
        }
        throw new PoNetInputException(
            $"{dir}: no weights found: expected {SafeTensorsFile}, {PyTorchFile} or a *.index.json shard index");
    }

    /// <summary>Reads every tensor of one weights file (safetensors or PyTorch zip) on the CPU.</summary>
    public static Dictionary<string, Tensor> ReadStateDict(string path)
    {
        if (path.EndsWith(".safetensors", StringComparison.Ordinal)) return SafeTensors.Load(path);
        if (!File.Exists(path)) throw new PoNetInputException($"{path}: file not found");
        using (var probe = File.OpenRead(path))
        {
            Span<byte> magic = stackalloc byte[4];
            if (probe.Read(magic) < 4 || magic[0] != 'P' || magic[1] != 'K')
                throw new PoNetInputException(
                    $"{path}: not a zip-format PyTorch checkpoint (PyTorch >= 1.6 writes zip files; re-save it with torch.save or convert it to safetensors)");
        }
        Hashtable table;
        try
        {
            table = TorchSharp.PyBridge.PyTorchUnpickler.UnpickleStateDict(path);
        }
        catch (Exception e) when (e is not PoNetInputException)
        {
            throw new PoNetInputException($"{path}: corrupt or truncated PyTorch checkpoint: {e.GetType().Name}: {e.Message}", e);
        }
        var result = new Dictionary<string, Tensor>();
        foreach (DictionaryEntry entry in table)
        {
            if (entry.Value is not Tensor t)
                throw new PoNetInputException($"{path}: entry '{entry.Key}' is not a tensor");
            result[(string)entry.Key] = t;
        }
        return result;
    }

    /// <summary>
    /// Loads weights into <paramref name="model"/>. Accepted: tied or untied decoder keys, with or
    /// without position_ids, base-model keys with or without the family's prefix ("ponet.", "bert.", "fnet."), and checkpoints of
    /// another head (its keys are ignored; this model's head keys, absent as a whole, keep their
    /// fresh initialisation). Anything else — a missing or unexpected encoder key, a partial head, a
    /// shape mismatch — fails before any tensor is copied.
    /// </summary>
    public static LoadReport LoadWeights(PoNetTaskModel model, string dir)
    {
        var files = WeightFiles(dir);
        var stateDict = new Dictionary<string, Tensor>();
        try
        {
            foreach (var file in files)
                foreach (var (k, v) in ReadStateDict(file))
                    stateDict[k] = v;
            return LoadStateDict(model, stateDict, string.Join(", ", files.Select(Path.GetFileName)));
        }
        finally
        {
            foreach (var t in stateDict.Values) t.Dispose();
        }
    }

    public static LoadReport LoadStateDict(PoNetTaskModel model, IReadOnlyDictionary<string, Tensor> source, string sourceName)
    {
        var expected = model.state_dict();
        var aliases = model.Aliases;
        var family = model.Config.Family;
        var prefix = family.Prefix + ".";
        var file = new Dictionary<string, Tensor>();

        // Another architecture's checkpoint (e.g. BERT keys under a PoNet config) fails on its first key.
        if (!source.Keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal))
            && source.Keys.Order(StringComparer.Ordinal).FirstOrDefault(k => ModelFamily.OfKey(k) is not null) is { } foreign)
            throw new PoNetInputException(
                $"{sourceName}: key '{foreign}' belongs to a {ModelFamily.OfKey(foreign)!.ModelType} model, but config.json says " +
                $"model_type \"{family.ModelType}\" ({model.Architecture}): use the checkpoint's own config.json");

        // A bare base-model checkpoint has no "ponet."/"bert."/"fnet." prefix.
        bool bare = !source.Keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal))
                    && source.Keys.Any(k => expected.ContainsKey(prefix + k));
        foreach (var (key, tensor) in source)
        {
            var k = bare && expected.ContainsKey(prefix + key) || bare && IsIgnorableBuffer(key) ? prefix + key : key;
            if (IsIgnorableBuffer(k)) continue;
            file[LegacyLayerNormName(k, expected)] = tensor;
        }

        var ignored = new List<string>();
        var mismatched = new List<string>();
        // Tied aliases: used when the canonical key is absent, otherwise only shape-checked.
        foreach (var (alias, canonical) in aliases)
        {
            if (!file.Remove(alias, out var t)) continue;
            if (!file.ContainsKey(canonical)) file[canonical] = t;
            else if (!file[canonical].shape.SequenceEqual(t.shape))
                mismatched.Add($"{alias}: checkpoint [{string.Join(", ", t.shape)}], tied to {canonical} [{string.Join(", ", file[canonical].shape)}]");
        }
        // An untied model reading a tied checkpoint: the decoder is the word-embedding matrix.
        foreach (var key in expected.Keys.Where(k => k.EndsWith("predictions.decoder.weight", StringComparison.Ordinal)))
            if (!file.ContainsKey(key) && file.TryGetValue(prefix + "embeddings.word_embeddings.weight", out var emb))
                file[key] = emb;

        var missing = expected.Keys.Where(k => !file.ContainsKey(k)).ToList();
        var unexpected = file.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        foreach (var key in expected.Keys.Intersect(file.Keys))
            if (!expected[key].shape.SequenceEqual(file[key].shape))
                mismatched.Add($"{key}: checkpoint [{string.Join(", ", file[key].shape)}], model [{string.Join(", ", expected[key].shape)}]");

        string Head(string key) => key.StartsWith(prefix + "pooler.", StringComparison.Ordinal) ? prefix + "pooler"
            : key.StartsWith(prefix, StringComparison.Ordinal) ? family.Prefix
            : key.StartsWith("cls.", StringComparison.Ordinal) ? string.Join('.', key.Split('.').Take(2)) // cls.predictions, cls.seq_relationship
            : key.Split('.')[0];
        // Other heads' keys (and a pooler this model lacks) are dropped; a head the file lacks entirely is new.
        var modelHeads = expected.Keys.Select(Head).ToHashSet();
        var fileHeads = file.Keys.Select(Head).ToHashSet();
        ignored.AddRange(unexpected.Where(k => !modelHeads.Contains(Head(k))));
        unexpected.RemoveAll(k => !modelHeads.Contains(Head(k)));
        var initialized = missing.Where(k => Head(k) != family.Prefix && !fileHeads.Contains(Head(k))).ToList();
        missing.RemoveAll(initialized.Contains);

        if (missing.Count + unexpected.Count + mismatched.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"missing keys ({missing.Count}): {string.Join(", ", missing)}");
            if (unexpected.Count > 0) parts.Add($"unexpected keys ({unexpected.Count}): {string.Join(", ", unexpected)}");
            if (mismatched.Count > 0) parts.Add($"mis-shaped keys ({mismatched.Count}): {string.Join("; ", mismatched)}");
            throw new PoNetInputException($"{sourceName} does not fit {model.Architecture}: {string.Join(". ", parts)}");
        }

        using (no_grad())
        {
            foreach (var (key, target) in expected)
                if (file.TryGetValue(key, out var t))
                    target.copy_(t.to(target.dtype));
        }
        return new LoadReport(sourceName, initialized, ignored);
    }

    /// <summary>
    /// Writes config.json and model.safetensors in the layout the reference writes (every key its
    /// state_dict has, tied tensors as copies, and for PoNet the position_ids buffer, which HF's
    /// BERT and FNet do not keep in their state dicts), each file atomically.
    /// </summary>
    public static void Save(PoNetTaskModel model, string dir)
    {
        Directory.CreateDirectory(dir);
        var config = model.Config.Clone();
        config.Architectures = [model.Architecture];
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (k, v) in model.state_dict()) tensors[k] = v;
        foreach (var (alias, canonical) in model.Aliases) tensors[alias] = tensors[canonical];
        using var positions = arange(config.MaxPositionEmbeddings, dtype: ScalarType.Int64).unsqueeze(0);
        if (config.Family.SavesPositionIds) tensors[config.Family.Prefix + ".embeddings.position_ids"] = positions;
        SafeTensors.Save(Path.Combine(dir, SafeTensorsFile), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        config.Save(Path.Combine(dir, ConfigFile));
    }
}
