using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Model.Mixers;

/// <summary>
/// The LRA PoNet mixer's pooling and gate as one autograd node written in C# (docs/MODEL.md §10.9):
/// from P = [L0 | S0 | O] ([B,N,3D], the fused projection) and GA's g2 ([B,1,D]),
/// y = O ⊙ (max of S over the fixed chunk + g2) + max(L[l−1], L[l], L[l+1]), with L and S the pieces
/// with padded tokens at −10000 (the §10.1 rule). Built from libtorch ops the same function is about
/// a dozen passes over [B,N,D] tensors in forward and backward, keeps the chunk maxima, the gate, the
/// full product and max_pool1d's int64 indices for backward, and concatenates the three gradients;
/// here forward is one pass that writes y and backward one pass that writes ∂P, and only P, g2 and
/// the mask are kept. The values are those of the ops bit for bit (the same float multiply, then
/// add); the gradients follow libtorch's rules for ties: amax shares the gradient equally between
/// the maxima of a chunk, max_pool1d gives it to the first maximum of the window (a later value
/// replaces the running maximum only when greater, or NaN); NaN propagates as in both.
/// Float32, CPU, contiguous; <see cref="Supports"/> says when it applies.
/// </summary>
public sealed class PoolGateKernel : autograd.SingleTensorFunction<PoolGateKernel>
{
    public override string Name => "PoNetPoolGate";

    /// <summary>Whether the mixer uses this node (on unless PONET_POOL_KERNEL=0); off, it runs the same function as libtorch ops.</summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("PONET_POOL_KERNEL") != "0";

    /// <summary>Float32 CPU tensors only: the kernel reads and writes their memory directly.</summary>
    public static bool Supports(Tensor parts) =>
        Enabled && parts.dtype == ScalarType.Float32 && parts.device_type == DeviceType.CPU && parts.numel() <= MaxElements;

    /// <summary>The largest tensor the kernel reads as one span of bytes (2^31 − 1 bytes).</summary>
    public const long MaxElements = int.MaxValue / sizeof(float);

    /// <summary>y [B,N,D] before the padded rows are zeroed. <paramref name="keep"/>: [B,N,1], 1 for real tokens, 0 for pads; null when none is padded.</summary>
    public static Tensor Apply(Tensor parts, Tensor g2, Tensor? keep, long segmentLength)
    {
        NodeHandles.Release();
        if (!is_grad_enabled() || !(parts.requires_grad || g2.requires_grad))
            return Forward(parts, g2, keep, segmentLength);
        return apply(parts, g2, keep!, segmentLength);
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (parts, g2, keep, segmentLength) = ((Tensor)vars[0], (Tensor)vars[1], vars[2] as Tensor, (long)vars[3]);
        ctx.save_for_backward([parts, g2, keep!]);
        ctx.save_data("segment_length", segmentLength);
        using var noGrad = no_grad();
        return Forward(parts, g2, keep, segmentLength);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOut)
    {
        NodeHandles.Release();
        var saved = ctx.get_saved_variables();
        var (parts, g2) = (saved[0], saved[1]);
        Tensor? keep = saved[2] is { IsInvalid: false } k ? k : null;
        long segmentLength = (long)ctx.get_data("segment_length");
        var (gParts, gG2) = Backward(parts, g2, keep, segmentLength, gradOut);
        foreach (var t in saved) t?.Dispose();
        gradOut.Dispose();
        NodeHandles.Keep([gParts, gG2]);
        return [gParts, gG2, null!, null!];
    }

    readonly struct Shape(long b, long n, long d, long segLen)
    {
        public readonly int B = checked((int)b), N = checked((int)n), D = checked((int)d), SegLen = (int)Math.Min(segLen, n);
        public int Width => 3 * D;
    }

    static Shape Check(Tensor parts, Tensor g2, Tensor? keep, long segmentLength)
    {
        if (parts.dim() != 3 || parts.shape[2] % 3 != 0) throw new ArgumentException($"parts must be [B,N,3D], got [{string.Join(",", parts.shape)}]");
        var shape = new Shape(parts.shape[0], parts.shape[1], parts.shape[2] / 3, segmentLength);
        if (segmentLength < 1) throw new ArgumentOutOfRangeException(nameof(segmentLength), segmentLength, "segment length must be at least 1");
        if (!g2.shape.SequenceEqual(new long[] { shape.B, 1, shape.D })) throw new ArgumentException($"g2 must be [{shape.B},1,{shape.D}], got [{string.Join(",", g2.shape)}]");
        if (keep is not null && keep.numel() != (long)shape.B * shape.N) throw new ArgumentException($"keep must have B·N = {(long)shape.B * shape.N} elements, got {keep.numel()}");
        if ((long)shape.B * shape.N * shape.Width > MaxElements) throw new ArgumentException($"parts larger than {MaxElements} elements");
        return shape;
    }

    static Tensor Contiguous32(Tensor t) => t.dtype == ScalarType.Float32 && t.is_contiguous() ? t.alias() : t.to_type(ScalarType.Float32).contiguous();

    static unsafe float* Pointer(Tensor t) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(MemoryMarshal.Cast<byte, float>(t.bytes)));

    static ParallelOptions Options() => new() { MaxDegreeOfParallelism = Math.Max(1, get_num_threads()) };

    /// <summary>The forward alone: y [B,N,D].</summary>
    public static unsafe Tensor Forward(Tensor parts, Tensor g2, Tensor? keep, long segmentLength)
    {
        var s = Check(parts, g2, keep, segmentLength);
        using var p = Contiguous32(parts);
        using var g = Contiguous32(g2);
        using var m = keep is null ? null : Contiguous32(keep);
        var y = empty(s.B, s.N, s.D, dtype: ScalarType.Float32);
        nint pp = (nint)Pointer(p), gp = (nint)Pointer(g), mp = m is null ? 0 : (nint)Pointer(m), yp = (nint)Pointer(y);
        Parallel.For(0, s.B, Options(), b => ForwardRow(s, b, (float*)pp, (float*)gp, (float*)mp, (float*)yp));
        return y;
    }

    /// <summary>The backward alone: ∂P [B,N,3D] and ∂g2 [B,1,D] from ∂y.</summary>
    public static unsafe (Tensor GradParts, Tensor GradG2) Backward(Tensor parts, Tensor g2, Tensor? keep, long segmentLength, Tensor gradOut)
    {
        var s = Check(parts, g2, keep, segmentLength);
        using var p = Contiguous32(parts);
        using var g = Contiguous32(g2);
        using var m = keep is null ? null : Contiguous32(keep);
        using var gy = Contiguous32(gradOut);
        var gParts = empty(s.B, s.N, s.Width, dtype: ScalarType.Float32);
        var gG2 = empty(s.B, 1, s.D, dtype: ScalarType.Float32);
        nint pp = (nint)Pointer(p), gp = (nint)Pointer(g), mp = m is null ? 0 : (nint)Pointer(m), gyp = (nint)Pointer(gy),
             gpp = (nint)Pointer(gParts), gg2p = (nint)Pointer(gG2);
        Parallel.For(0, s.B, Options(), b => BackwardRow(s, b, (float*)pp, (float*)gp, (float*)mp, (float*)gyp, (float*)gpp, (float*)gg2p));
        return (gParts, gG2);
    }

    const float PadValue = -10000f;

    // The running-maximum rule of max_pool1d and amax: a value replaces the maximum when greater, or NaN.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Takes(Vector256<float> value, Vector256<float> max) =>
        Vector256.GreaterThan(value, max) | ~Vector256.Equals(value, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool Takes(float value, float max) => value > max || float.IsNaN(value);

    // L or S at token l, column j: the pad value where the token is padded.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe Vector256<float> Load(float* row, float* mask, int l, int j) =>
        mask is not null && mask[l] == 0f ? Vector256.Create(PadValue) : Vector256.Load(row + j);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe float Load1(float* row, float* mask, int l, int j) => mask is not null && mask[l] == 0f ? PadValue : row[j];

    static unsafe void ForwardRow(Shape s, int b, float* parts, float* g2, float* keep, float* y)
    {
        int n = s.N, d = s.D, w = s.Width, segLen = s.SegLen, vd = d - d % 8;
        float* p = parts + (long)b * n * w, yb = y + (long)b * n * d, g = g2 + (long)b * d;
        float* mask = keep is null ? null : keep + (long)b * n;
        var gate = stackalloc float[d];
        for (int start = 0; start < n; start += segLen)
        {
            int end = Math.Min(start + segLen, n);
            // gate = max of S over the chunk + g2 (amax, then add: as libtorch).
            for (int j = 0; j < vd; j += 8)
            {
                var max = Vector256.Create(float.NegativeInfinity);
                for (int l = start; l < end; l++)
                {
                    var v = Load(p + (long)l * w + d, mask, l, j);
                    max = Vector256.ConditionalSelect(Takes(v, max), v, max);
                }
                (max + Vector256.Load(g + j)).Store(gate + j);
            }
            for (int j = vd; j < d; j++)
            {
                float max = float.NegativeInfinity;
                for (int l = start; l < end; l++) { float v = Load1(p + (long)l * w + d, mask, l, j); if (Takes(v, max)) max = v; }
                gate[j] = max + g[j];
            }
            for (int l = start; l < end; l++)
            {
                float* row = p + (long)l * w, o = row + 2 * d, yr = yb + (long)l * d;
                for (int j = 0; j < vd; j += 8)
                {
                    var lmp = WindowMax(p, mask, n, w, l, j);
                    (Vector256.Load(o + j) * Vector256.Load(gate + j) + lmp).Store(yr + j);
                }
                for (int j = vd; j < d; j++)
                    yr[j] = o[j] * gate[j] + WindowMax1(p, mask, n, w, l, j);
            }
        }
    }

    // max(L[l−1], L[l], L[l+1]) over the tokens that exist, scanned left to right.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe Vector256<float> WindowMax(float* p, float* mask, int n, int w, int l, int j)
    {
        var max = Vector256.Create(float.NegativeInfinity);
        for (int i = Math.Max(l - 1, 0), last = Math.Min(l + 1, n - 1); i <= last; i++)
        {
            var v = Load(p + (long)i * w, mask, i, j);
            max = Vector256.ConditionalSelect(Takes(v, max), v, max);
        }
        return max;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe float WindowMax1(float* p, float* mask, int n, int w, int l, int j)
    {
        float max = float.NegativeInfinity;
        for (int i = Math.Max(l - 1, 0), last = Math.Min(l + 1, n - 1); i <= last; i++) { float v = Load1(p + (long)i * w, mask, i, j); if (Takes(v, max)) max = v; }
        return max;
    }

    static unsafe void BackwardRow(Shape s, int b, float* parts, float* g2, float* keep, float* gradOut, float* gradParts, float* gradG2)
    {
        int n = s.N, d = s.D, w = s.Width, segLen = s.SegLen, vd = d - d % 8;
        float* p = parts + (long)b * n * w, gy = gradOut + (long)b * n * d, gp = gradParts + (long)b * n * w, g = g2 + (long)b * d;
        float* mask = keep is null ? null : keep + (long)b * n;
        float* gG2 = gradG2 + (long)b * d;
        var gate = stackalloc float[d];
        var gGate = stackalloc float[d];
        var max = stackalloc float[d];
        new Span<float>(gG2, d).Clear();
        // ∂L: max_pool1d's backward adds ∂y[l] to the first maximum of l's window, for l in order;
        // row i of ∂L is final once l = i + 1 is done, so each row is cleared just before its first use.
        new Span<float>(gp, d).Clear();
        for (int start = 0; start < n; start += segLen)
        {
            int end = Math.Min(start + segLen, n);
            for (int j = 0; j < vd; j += 8)
            {
                var m = Vector256.Create(float.NegativeInfinity);
                for (int l = start; l < end; l++)
                {
                    var v = Load(p + (long)l * w + d, mask, l, j);
                    m = Vector256.ConditionalSelect(Takes(v, m), v, m);
                }
                m.Store(max + j);
                (m + Vector256.Load(g + j)).Store(gate + j);
                Vector256<float>.Zero.Store(gGate + j);
            }
            for (int j = vd; j < d; j++)
            {
                float m = float.NegativeInfinity;
                for (int l = start; l < end; l++) { float v = Load1(p + (long)l * w + d, mask, l, j); if (Takes(v, m)) m = v; }
                max[j] = m;
                gate[j] = m + g[j];
                gGate[j] = 0f;
            }
            for (int l = start; l < end; l++)
            {
                float* row = p + (long)l * w, o = row + 2 * d, gyr = gy + (long)l * d, gRow = gp + (long)l * w;
                if (l + 1 < n) new Span<float>(gp + (long)(l + 1) * w, d).Clear();
                bool hasLeft = l > 0, hasRight = l + 1 < n;
                float* gLeft = gRow - w, gRight = gRow + w;
                for (int j = 0; j < vd; j += 8)
                {
                    var gv = Vector256.Load(gyr + j);
                    // ∂O = ∂y ⊙ gate; ∂gate += ∂y ⊙ O over the chunk.
                    (gv * Vector256.Load(gate + j)).Store(gRow + 2 * d + j);
                    (Vector256.Load(gGate + j) + gv * Vector256.Load(o + j)).Store(gGate + j);
                    // ∂L: which of l−1, l, l+1 is the window's first maximum, lane by lane.
                    var m = Vector256.Create(float.NegativeInfinity);
                    Vector256<float> atLeft = Vector256<float>.Zero, atSelf, atRight = Vector256<float>.Zero;
                    if (hasLeft)
                    {
                        var v = Load(row - w, mask, l - 1, j);
                        atLeft = Takes(v, m);
                        m = Vector256.ConditionalSelect(atLeft, v, m);
                    }
                    {
                        var v = Load(row, mask, l, j);
                        atSelf = Takes(v, m);
                        m = Vector256.ConditionalSelect(atSelf, v, m);
                        atLeft = Vector256.AndNot(atLeft, atSelf);
                    }
                    if (hasRight)
                    {
                        var v = Load(row + w, mask, l + 1, j);
                        atRight = Takes(v, m);
                        atLeft = Vector256.AndNot(atLeft, atRight);
                        atSelf = Vector256.AndNot(atSelf, atRight);
                    }
                    // Without a left neighbour the first index is l: a window whose values are all
                    // −inf (or never taken) keeps max_pool1d's initial index, its first position.
                    if (!hasLeft) atSelf |= ~(atSelf | atRight);
                    else atLeft |= ~(atLeft | atSelf | atRight);
                    if (hasLeft) (Vector256.Load(gLeft + j) + (gv & atLeft)).Store(gLeft + j);
                    (Vector256.Load(gRow + j) + (gv & atSelf)).Store(gRow + j);
                    if (hasRight) (Vector256.Load(gRight + j) + (gv & atRight)).Store(gRight + j);
                }
                for (int j = vd; j < d; j++)
                {
                    gRow[2 * d + j] = gyr[j] * gate[j];
                    gGate[j] += gyr[j] * o[j];
                    int first = Math.Max(l - 1, 0), last = Math.Min(l + 1, n - 1);
                    float m = float.NegativeInfinity;
                    int at = first;
                    for (int i = first; i <= last; i++) { float v = Load1(p + (long)i * w, mask, i, j); if (Takes(v, m)) { m = v; at = i; } }
                    gp[(long)at * w + j] += gyr[j];
                }
            }
            // ∂S: amax's backward, ∂gate / (number of maxima) at each maximum.
            for (int j = 0; j < vd; j += 8)
            {
                var m = Vector256.Load(max + j);
                var count = Vector256<float>.Zero;
                for (int l = start; l < end; l++)
                    count += Vector256.Equals(Load(p + (long)l * w + d, mask, l, j), m) & Vector256<float>.One;
                var share = Vector256.Load(gGate + j) / count;
                for (int l = start; l < end; l++)
                    (Vector256.Equals(Load(p + (long)l * w + d, mask, l, j), m) & share).Store(gp + (long)l * w + d + j);
                (Vector256.Load(gG2 + j) + Vector256.Load(gGate + j)).Store(gG2 + j);
            }
            for (int j = vd; j < d; j++)
            {
                float c = 0f;
                for (int l = start; l < end; l++) if (Load1(p + (long)l * w + d, mask, l, j) == max[j]) c += 1f;
                for (int l = start; l < end; l++)
                    gp[(long)l * w + d + j] = Load1(p + (long)l * w + d, mask, l, j) == max[j] ? gGate[j] / c : 0f;
                gG2[j] += gGate[j];
            }
        }
        // The −10000 fill's backward: nothing flows to a padded token's L0 or S0.
        if (mask is not null)
            for (int l = 0; l < n; l++)
                if (mask[l] == 0f) { new Span<float>(gp + (long)l * w, 2 * d).Clear(); }
    }
}
