using PoNet.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.FineTuning;

/// <summary>
/// Long-document fine-tuning (docs/MODEL.md §5): a model pre-trained with P learned positions is given
/// N &gt; P positions by tiling the P rows — 512 → 4096 repeats them 8 times — so row i of the new
/// table is row i mod P of the old one and inputs of at most P tokens are computed exactly as before.
/// </summary>
public static class PositionEmbeddingTiling
{
    /// <summary>The position table of a PoNet checkpoint; BERT's and FNet's are under their own prefix (<see cref="KeyOf"/>).</summary>
    public const string Key = "ponet.embeddings.position_embeddings.weight";

    /// <summary>The position table's key for the config's architecture (ponet., bert. or fnet.).</summary>
    public static string KeyOf(PoNetConfig config) => $"{config.Family.Prefix}.embeddings.position_embeddings.weight";

    /// <summary>A new config and state dict with max_position_embeddings = <paramref name="positions"/>; the inputs are not changed.</summary>
    public static (PoNetConfig Config, Dictionary<string, Tensor> Weights) Extend(PoNetConfig config,
        IReadOnlyDictionary<string, Tensor> weights, int positions)
    {
        int old = config.MaxPositionEmbeddings;
        if (positions < old)
            throw new ArgumentOutOfRangeException(nameof(positions), $"{positions} positions: the model already has {old}; tiling only extends");
        var prefixed = KeyOf(config);
        var key = weights.ContainsKey(prefixed) ? prefixed : "embeddings.position_embeddings.weight"; // bare base-model checkpoints
        if (!weights.TryGetValue(key, out var table))
            throw new PoNetInputException($"the checkpoint has no {prefixed} to extend");
        if (table.shape[0] != old)
            throw new PoNetInputException($"{key} has {table.shape[0]} rows but max_position_embeddings is {old}");

        // Size limits and memory are checked before the table is tiled (--max-length 2000000000 is refused here).
        var newConfig = config.Clone();
        newConfig.MaxPositionEmbeddings = positions;
        newConfig.Validate($"--max-length {positions}");
        var extended = new Dictionary<string, Tensor>(weights);
        int repeats = (positions + old - 1) / old;
        extended[key] = table.repeat(repeats, 1).narrow(0, 0, positions).contiguous();
        // The position_ids buffer (0..P−1) would no longer fit; loading ignores it anyway.
        extended.Remove($"{config.Family.Prefix}.embeddings.position_ids");
        extended.Remove("embeddings.position_ids");
        return (newConfig, extended);
    }
}
