using PoNet.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Checkpoints;

/// <summary>
/// A batch stored as safetensors with the golden files' names: input.input_ids,
/// input.attention_mask, input.token_type_ids and optional input.segment_ids, all int64 [B,N].
/// Everything is checked against the model's config before the model sees it.
/// </summary>
public static class InputFile
{
    public const string InputIds = "input.input_ids", AttentionMask = "input.attention_mask",
        TokenTypeIds = "input.token_type_ids", SegmentIds = "input.segment_ids";

    public static PoNetInputs Read(string path, PoNetConfig config)
    {
        var wanted = new HashSet<string> { InputIds, AttentionMask, TokenTypeIds, SegmentIds };
        var tensors = SafeTensors.Load(path, wanted);
        foreach (var name in new[] { InputIds, AttentionMask, TokenTypeIds })
            if (!tensors.ContainsKey(name))
                throw new PoNetInputException($"{path}: missing tensor '{name}' (int64 [batch, length])");
        var ids = tensors[InputIds];
        foreach (var (name, t) in tensors)
        {
            if (t.dtype != ScalarType.Int64)
                throw new PoNetInputException($"{path}: tensor '{name}' is {t.dtype}: expected int64");
            if (t.dim() != 2)
                throw new PoNetInputException($"{path}: tensor '{name}' has shape [{string.Join(", ", t.shape)}]: expected [batch, length]");
            if (!t.shape.SequenceEqual(ids.shape))
                throw new PoNetInputException(
                    $"{path}: tensor '{name}' has shape [{string.Join(", ", t.shape)}] but '{InputIds}' has [{string.Join(", ", ids.shape)}]");
        }
        if (ids.shape[0] == 0 || ids.shape[1] == 0)
            throw new PoNetInputException(
                $"{path}: tensor '{InputIds}' has shape [{string.Join(", ", ids.shape)}]: expected at least one sequence of at least one token");
        if (ids.shape[1] > config.MaxPositionEmbeddings)
            throw new PoNetInputException(
                $"{path}: sequence length {ids.shape[1]} exceeds the model's max_position_embeddings = {config.MaxPositionEmbeddings}");
        CheckRange(path, InputIds, ids, 0, config.VocabSize - 1, "vocab_size");
        CheckRange(path, AttentionMask, tensors[AttentionMask], 0, 1, null);
        CheckRange(path, TokenTypeIds, tensors[TokenTypeIds], 0, config.TypeVocabSize - 1, "type_vocab_size");
        var segments = tensors.GetValueOrDefault(SegmentIds);
        if (segments is not null)
        {
            try
            {
                Segments.Compact(segments, validate: true).Dispose(); // names the offending position
            }
            catch (PoNetInputException e)
            {
                throw new PoNetInputException($"{path}: input.{e.Message}", e); // "input.segment_ids[r, c] = …"
            }
        }
        return new PoNetInputs(ids, tensors[AttentionMask], tensors[TokenTypeIds], segments);
    }

    static void CheckRange(string path, string name, Tensor t, long min, long max, string? limitKey)
    {
        if (t.numel() == 0) return;
        using var bad = t.lt(min).logical_or(t.gt(max));
        if (!bad.any().item<bool>()) return;
        using var at = bad.nonzero()[0];
        long r = at[0].item<long>(), c = at[1].item<long>();
        var limit = limitKey is null ? $"expected {min}..{max}" : $"expected {min}..{max} ({limitKey} = {max + 1})";
        throw new PoNetInputException($"{path}: {name}[{r}, {c}] = {t[r, c].item<long>()}: {limit}");
    }
}
