using PoNet.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Pretraining;

/// <summary>A padded, masked pre-training batch (all int64 [B,N] except SsoLabels [B]).</summary>
public sealed record PretrainingBatch(Tensor InputIds, Tensor TokenTypeIds, Tensor AttentionMask, Tensor SegmentIds,
    Tensor MlmLabels, Tensor SsoLabels) : IDisposable
{
    public PoNetInputs Inputs => new(InputIds, AttentionMask, TokenTypeIds, SegmentIds);
    public PoNetLabels Labels => new(MlmLabels, SsoLabels);

    public void Dispose()
    {
        foreach (var t in new[] { InputIds, TokenTypeIds, AttentionMask, SegmentIds, MlmLabels, SsoLabels }) t.Dispose();
    }
}

/// <summary>
/// BERT's dynamic masking, drawn afresh for every batch (docs/MODEL.md §4): each token that is neither
/// special nor padding is chosen with probability 0.15; a chosen token becomes [MASK] with
/// probability 0.8, a uniformly random vocabulary id with 0.1, and stays itself with 0.1. Labels are
/// the original ids at chosen positions and −100 elsewhere. Done on the CPU with a seeded
/// <see cref="Random"/>, so a batch's masks are reproducible from the step's seed.
/// </summary>
public static class MlmMasking
{
    public const double MaskProbability = 0.15;
    public const int Ignore = -100;

    /// <summary>
    /// Masks <paramref name="ids"/> in place and returns the labels. A batch with no chosen token (only
    /// possible for tiny batches) gets one, so that the MLM loss is always defined.
    /// </summary>
    public static long[] Mask(long[] ids, Func<long, bool> maskable, int maskId, int vocabSize, Random rng)
    {
        var labels = new long[ids.Length];
        Array.Fill(labels, Ignore);
        int chosen = 0, candidates = 0;
        void Choose(int p)
        {
            labels[p] = ids[p];
            chosen++;
            double r = rng.NextDouble();
            if (r < 0.8) ids[p] = maskId;
            else if (r < 0.9) ids[p] = rng.Next(vocabSize);
        }
        for (int p = 0; p < ids.Length; p++)
        {
            if (!maskable(ids[p])) continue;
            candidates++;
            if (rng.NextDouble() < MaskProbability) Choose(p);
        }
        if (chosen == 0 && candidates > 0)
        {
            int pick = rng.Next(candidates);
            for (int p = 0; p < ids.Length; p++)
                if (maskable(ids[p]) && pick-- == 0)
                {
                    Choose(p);
                    break;
                }
        }
        return labels;
    }

    /// <summary>
    /// Pads <paramref name="examples"/> to the longest of them ([PAD], token type 0, attention 0, each
    /// row's padding one segment past its last) and masks them.
    /// </summary>
    public static PretrainingBatch Collate(IReadOnlyList<PretrainingExample> examples, int padId, int maskId, int vocabSize,
        Func<long, bool> isSpecial, Random rng)
    {
        int b = examples.Count, n = examples.Max(e => e.Length);
        var ids = new long[b * n];
        var types = new long[b * n];
        var mask = new long[b * n];
        var segments = new long[b * n];
        for (int r = 0; r < b; r++)
        {
            var e = examples[r];
            int lastSegment = e.SegmentIds[^1];
            for (int c = 0; c < n; c++)
            {
                int p = r * n + c;
                bool real = c < e.Length;
                ids[p] = real ? e.InputIds[c] : padId;
                types[p] = real ? e.TokenTypeIds[c] : 0;
                mask[p] = real ? 1 : 0;
                segments[p] = real ? e.SegmentIds[c] : lastSegment + 1;
            }
        }
        var labels = Mask(ids, id => id != padId && !isSpecial(id), maskId, vocabSize, rng);
        long[] shape = [b, n];
        return new PretrainingBatch(tensor(ids, shape), tensor(types, shape), tensor(mask, shape), tensor(segments, shape),
            tensor(labels, shape), tensor(examples.Select(e => (long)e.SsoLabel).ToArray()));
    }
}
