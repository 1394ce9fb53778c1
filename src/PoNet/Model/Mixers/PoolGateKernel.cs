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
/// here forward is one pass that writes y and backward one pass that writes ∂P. P itself is not
/// kept: forward also writes O as its own tensor, the gate per chunk and three bits per element
/// (where LMP's and SMP's maxima are), so that P is freed with the mixer's scope and backward
/// reads neither L0 nor S0 (see <see cref="ForwardSaving"/>). The values are those of the ops bit for bit (the same float multiply, then
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
        using var noGrad = no_grad();
        var (y, o, gate, winners) = ForwardSaving(parts, g2, keep, segmentLength);
        Tensor[] kept = [o, gate, winners];
        NodeHandles.Keep(kept);
        ctx.save_for_backward([o, gate, winners, keep!]);
        ctx.save_data("segment_length", segmentLength);
        return y;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOut)
    {
        NodeHandles.Release();
        var saved = ctx.get_saved_variables();
        var (o, gate, winners) = (saved[0], saved[1], saved[2]);
        Tensor? keep = saved[3] is { IsInvalid: false } k ? k : null;
        long segmentLength = (long)ctx.get_data("segment_length");
        var (gParts, gG2) = Backward(o, gate, winners, keep, segmentLength, gradOut);
        foreach (var t in saved) t?.Dispose();
        gradOut.Dispose();
        NodeHandles.Keep([gParts, gG2]);
        return [gParts, gG2, null!, null!];
    }

    readonly struct Shape(long b, long n, long d, long segLen)
    {
        public readonly int B = checked((int)b), N = checked((int)n), D = checked((int)d), SegLen = (int)Math.Min(segLen, n);
        public int Width => 3 * D;
        /// <summary>Column groups of 8 (the last one partial when D is not a multiple of 8): one byte each per bit set.</summary>
        public int Groups => (D + 7) / 8;
        public int Chunks => (N + SegLen - 1) / SegLen;
    }

    static Shape Check(Tensor parts, Tensor g2, Tensor? keep, long segmentLength)
    {
        if (parts.dim() != 3 || parts.shape[2] % 3 != 0) throw new ArgumentException($"parts must be [B,N,3D], got [{string.Join(",", parts.shape)}]");
        var shape = new Shape(parts.shape[0], parts.shape[1], parts.shape[2] / 3, segmentLength);
        if (segmentLength < 1) throw new ArgumentOutOfRangeException(nameof(segmentLength), segmentLength, "segment length must be at least 1");
        if (!g2.shape.SequenceEqual(new long[] { shape.B, 1, shape.D })) throw new ArgumentException($"g2 must be [{shape.B},1,{shape.D}], got [{string.Join(",", g2.shape)}]");
        CheckKeep(shape, keep);
        if ((long)shape.B * shape.N * shape.Width > MaxElements) throw new ArgumentException($"parts larger than {MaxElements} elements");
        return shape;
    }

    static Shape CheckSaved(Tensor o, Tensor gate, Tensor winners, Tensor? keep, long segmentLength, Tensor gradOut)
    {
        if (o.dim() != 3) throw new ArgumentException($"O must be [B,N,D], got [{string.Join(",", o.shape)}]");
        if (segmentLength < 1) throw new ArgumentOutOfRangeException(nameof(segmentLength), segmentLength, "segment length must be at least 1");
        var shape = new Shape(o.shape[0], o.shape[1], o.shape[2], segmentLength);
        if (!gate.shape.SequenceEqual(new long[] { shape.B, shape.Chunks, shape.D })) throw new ArgumentException($"gate must be [{shape.B},{shape.Chunks},{shape.D}], got [{string.Join(",", gate.shape)}]");
        if (winners.dtype != ScalarType.Byte || !winners.is_contiguous() || !winners.shape.SequenceEqual(new long[] { shape.B, shape.N, 3 * shape.Groups }))
            throw new ArgumentException($"winners must be contiguous bytes [{shape.B},{shape.N},{3 * shape.Groups}], got {winners.dtype} [{string.Join(",", winners.shape)}]");
        if (!gradOut.shape.SequenceEqual(o.shape)) throw new ArgumentException($"the gradient must be [{string.Join(",", o.shape)}], got [{string.Join(",", gradOut.shape)}]");
        CheckKeep(shape, keep);
        if ((long)shape.B * shape.N * shape.Width > MaxElements) throw new ArgumentException($"∂P larger than {MaxElements} elements");
        return shape;
    }

    static void CheckKeep(Shape shape, Tensor? keep)
    {
        if (keep is not null && keep.numel() != (long)shape.B * shape.N) throw new ArgumentException($"keep must have B·N = {(long)shape.B * shape.N} elements, got {keep.numel()}");
    }

    static Tensor Contiguous32(Tensor t) => t.dtype == ScalarType.Float32 && t.is_contiguous() ? t.alias() : t.to_type(ScalarType.Float32).contiguous();

    static unsafe float* Pointer(Tensor t) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(MemoryMarshal.Cast<byte, float>(t.bytes)));

    static unsafe byte* BytePointer(Tensor t) => (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));

    static ParallelOptions Options() => new() { MaxDegreeOfParallelism = Math.Max(1, get_num_threads()) };

    /// <summary>The forward alone: y [B,N,D].</summary>
    public static Tensor Forward(Tensor parts, Tensor g2, Tensor? keep, long segmentLength) =>
        Run(parts, g2, keep, segmentLength, save: false).Y;

    /// <summary>
    /// The forward and what backward needs instead of P: O as its own [B,N,D] tensor, the gate
    /// (chunk maximum of S + g2) [B,chunks,D], and per token and column three bits
    /// ([B,N,3·⌈D/8⌉] bytes: LMP's maximum at the left neighbour, at the right one, and S at its
    /// chunk's maximum), about 42 MB per layer at the LRA Text shape against P's 100 MB.
    /// </summary>
    public static (Tensor Y, Tensor O, Tensor Gate, Tensor Winners) ForwardSaving(Tensor parts, Tensor g2, Tensor? keep, long segmentLength)
    {
        var (y, o, gate, winners) = Run(parts, g2, keep, segmentLength, save: true);
        return (y, o!, gate!, winners!);
    }

    static unsafe (Tensor Y, Tensor? O, Tensor? Gate, Tensor? Winners) Run(Tensor parts, Tensor g2, Tensor? keep, long segmentLength, bool save)
    {
        var s = Check(parts, g2, keep, segmentLength);
        using var p = Contiguous32(parts);
        using var g = Contiguous32(g2);
        using var m = keep is null ? null : Contiguous32(keep);
        var y = empty(s.B, s.N, s.D, dtype: ScalarType.Float32);
        Tensor? o = save ? empty(s.B, s.N, s.D, dtype: ScalarType.Float32) : null;
        Tensor? gate = save ? empty(s.B, s.Chunks, s.D, dtype: ScalarType.Float32) : null;
        Tensor? winners = save ? empty(s.B, s.N, 3 * s.Groups, dtype: ScalarType.Byte) : null;
        nint pp = (nint)Pointer(p), gp = (nint)Pointer(g), mp = m is null ? 0 : (nint)Pointer(m), yp = (nint)Pointer(y),
             op = o is null ? 0 : (nint)Pointer(o), gatep = gate is null ? 0 : (nint)Pointer(gate), wp = winners is null ? 0 : (nint)BytePointer(winners);
        Parallel.For(0, s.B, Options(), b => ForwardRow(s, b, (float*)pp, (float*)gp, (float*)mp, (float*)yp, (float*)op, (float*)gatep, (byte*)wp));
        return (y, o, gate, winners);
    }

    /// <summary>The backward alone: ∂P [B,N,3D] and ∂g2 [B,1,D] from ∂y and what <see cref="ForwardSaving"/> kept.</summary>
    public static unsafe (Tensor GradParts, Tensor GradG2) Backward(Tensor o, Tensor gate, Tensor winners, Tensor? keep, long segmentLength, Tensor gradOut)
    {
        var s = CheckSaved(o, gate, winners, keep, segmentLength, gradOut);
        using var oc = Contiguous32(o);
        using var gc = Contiguous32(gate);
        using var m = keep is null ? null : Contiguous32(keep);
        using var gy = Contiguous32(gradOut);
        var gParts = empty(s.B, s.N, s.Width, dtype: ScalarType.Float32);
        var gG2 = empty(s.B, 1, s.D, dtype: ScalarType.Float32);
        nint op = (nint)Pointer(oc), gatep = (nint)Pointer(gc), wp = (nint)BytePointer(winners), mp = m is null ? 0 : (nint)Pointer(m),
             gyp = (nint)Pointer(gy), gpp = (nint)Pointer(gParts), gg2p = (nint)Pointer(gG2);
        Parallel.For(0, s.B, Options(), b => BackwardRow(s, b, (float*)op, (float*)gatep, (byte*)wp, (float*)mp, (float*)gyp, (float*)gpp, (float*)gg2p));
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

    static readonly Vector256<int> LaneBits = Vector256.Create(1, 2, 4, 8, 16, 32, 64, 128);

    // A byte of 8 column bits as lane masks (all ones where the bit is set).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Lanes(byte bits) => Vector256.Equals(Vector256.Create((int)bits) & LaneBits, LaneBits).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static byte Bits(Vector256<float> lanes) => (byte)Vector256.ExtractMostSignificantBits(lanes);

    static unsafe void ForwardRow(Shape s, int b, float* parts, float* g2, float* keep, float* y, float* oSaved, float* gateSaved, byte* winners)
    {
        int n = s.N, d = s.D, w = s.Width, segLen = s.SegLen, vd = d - d % 8, groups = s.Groups;
        float* p = parts + (long)b * n * w, yb = y + (long)b * n * d, g = g2 + (long)b * d;
        float* mask = keep is null ? null : keep + (long)b * n;
        bool save = winners is not null;
        float* ob = save ? oSaved + (long)b * n * d : null;
        byte* wb = save ? winners + (long)b * n * 3 * groups : null;
        var gate = stackalloc float[d];
        var max = stackalloc float[d];
        for (int start = 0, chunk = 0; start < n; start += segLen, chunk++)
        {
            int end = Math.Min(start + segLen, n);
            // gate = max of S over the chunk + g2 (amax, then add: as libtorch).
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
            }
            for (int j = vd; j < d; j++)
            {
                float m = float.NegativeInfinity;
                for (int l = start; l < end; l++) { float v = Load1(p + (long)l * w + d, mask, l, j); if (Takes(v, m)) m = v; }
                max[j] = m;
                gate[j] = m + g[j];
            }
            if (save)
            {
                new Span<float>(gate, d).CopyTo(new Span<float>(gateSaved + ((long)b * s.Chunks + chunk) * d, d));
                // Which S are their chunk's maxima: amax's backward shares the gradient among them.
                for (int l = start; l < end; l++)
                {
                    float* srow = p + (long)l * w + d;
                    byte* bits = wb + (long)l * 3 * groups + 2 * groups;
                    for (int j = 0; j < vd; j += 8)
                        bits[j / 8] = Bits(Vector256.Equals(Load(srow, mask, l, j), Vector256.Load(max + j)));
                    if (vd < d)
                    {
                        int t = 0;
                        for (int j = vd; j < d; j++) if (Load1(srow, mask, l, j) == max[j]) t |= 1 << (j - vd);
                        bits[vd / 8] = (byte)t;
                    }
                }
            }
            for (int l = start; l < end; l++)
            {
                float* row = p + (long)l * w, o = row + 2 * d, yr = yb + (long)l * d;
                bool hasLeft = l > 0, hasRight = l + 1 < n;
                byte* bits = save ? wb + (long)l * 3 * groups : null;
                float* os = save ? ob + (long)l * d : null;
                for (int j = 0; j < vd; j += 8)
                {
                    var lmp = WindowMax(row, w, mask, l, j, hasLeft, hasRight, out var atLeft, out var atRight);
                    var ov = Vector256.Load(o + j);
                    (ov * Vector256.Load(gate + j) + lmp).Store(yr + j);
                    if (save)
                    {
                        ov.Store(os + j);
                        bits[j / 8] = Bits(atLeft);
                        bits[groups + j / 8] = Bits(atRight);
                    }
                }
                if (vd < d)
                {
                    int left = 0, right = 0;
                    for (int j = vd; j < d; j++)
                    {
                        float lmp = WindowMax1(row, w, mask, l, j, hasLeft, hasRight, out int at);
                        yr[j] = o[j] * gate[j] + lmp;
                        if (at < 0) left |= 1 << (j - vd);
                        else if (at > 0) right |= 1 << (j - vd);
                    }
                    if (save)
                    {
                        new Span<float>(o + vd, d - vd).CopyTo(new Span<float>(os + vd, d - vd));
                        bits[vd / 8] = (byte)left;
                        bits[groups + vd / 8] = (byte)right;
                    }
                }
            }
        }
    }

    // max(L[l−1], L[l], L[l+1]) over the tokens that exist, scanned left to right, and which of them
    // max_pool1d's backward gives the gradient to: the last one that replaced the running maximum,
    // or, when none did (all −inf), the window's first position (its initial index). Lanes of
    // neither mask go to l itself.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe Vector256<float> WindowMax(float* row, int w, float* mask, int l, int j, bool hasLeft, bool hasRight,
        out Vector256<float> atLeft, out Vector256<float> atRight)
    {
        var m = Vector256.Create(float.NegativeInfinity);
        atLeft = Vector256<float>.Zero;
        atRight = Vector256<float>.Zero;
        if (hasLeft)
        {
            var v = Load(row - w, mask, l - 1, j);
            atLeft = Takes(v, m);
            m = Vector256.ConditionalSelect(atLeft, v, m);
        }
        var self = Load(row, mask, l, j);
        var atSelf = Takes(self, m);
        m = Vector256.ConditionalSelect(atSelf, self, m);
        atLeft = Vector256.AndNot(atLeft, atSelf);
        if (hasRight)
        {
            var v = Load(row + w, mask, l + 1, j);
            atRight = Takes(v, m);
            m = Vector256.ConditionalSelect(atRight, v, m);
            atLeft = Vector256.AndNot(atLeft, atRight);
            atSelf = Vector256.AndNot(atSelf, atRight);
        }
        if (hasLeft) atLeft |= ~(atLeft | atSelf | atRight);
        return m;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe float WindowMax1(float* row, int w, float* mask, int l, int j, bool hasLeft, bool hasRight, out int at)
    {
        float m = float.NegativeInfinity;
        at = hasLeft ? -1 : 0;
        for (int i = hasLeft ? -1 : 0, last = hasRight ? 1 : 0; i <= last; i++)
        {
            float v = Load1(row + (long)i * w, mask, l + i, j);
            if (Takes(v, m)) { m = v; at = i; }
        }
        return m;
    }

    static unsafe void BackwardRow(Shape s, int b, float* oSaved, float* gateSaved, byte* winners, float* keep, float* gradOut, float* gradParts, float* gradG2)
    {
        int n = s.N, d = s.D, w = s.Width, segLen = s.SegLen, vd = d - d % 8, groups = s.Groups;
        float* ob = oSaved + (long)b * n * d, gy = gradOut + (long)b * n * d, gp = gradParts + (long)b * n * w;
        byte* wb = winners + (long)b * n * 3 * groups;
        float* mask = keep is null ? null : keep + (long)b * n;
        float* gG2 = gradG2 + (long)b * d;
        var gGate = stackalloc float[d];
        new Span<float>(gG2, d).Clear();
        // ∂L: max_pool1d's backward adds ∂y[l] to its window's maximum, for l in order; row i of ∂L
        // is final once l = i + 1 is done, so each row is cleared just before its first use.
        new Span<float>(gp, d).Clear();
        for (int start = 0, chunk = 0; start < n; start += segLen, chunk++)
        {
            int end = Math.Min(start + segLen, n);
            float* gate = gateSaved + ((long)b * s.Chunks + chunk) * d;
            new Span<float>(gGate, d).Clear();
            for (int l = start; l < end; l++)
            {
                float* o = ob + (long)l * d, gyr = gy + (long)l * d, gRow = gp + (long)l * w;
                byte* bits = wb + (long)l * 3 * groups;
                if (l + 1 < n) new Span<float>(gp + (long)(l + 1) * w, d).Clear();
                bool hasLeft = l > 0, hasRight = l + 1 < n;
                float* gLeft = gRow - w, gRight = gRow + w;
                for (int j = 0; j < vd; j += 8)
                {
                    var gv = Vector256.Load(gyr + j);
                    // ∂O = ∂y ⊙ gate; ∂gate += ∂y ⊙ O over the chunk.
                    (gv * Vector256.Load(gate + j)).Store(gRow + 2 * d + j);
                    (Vector256.Load(gGate + j) + gv * Vector256.Load(o + j)).Store(gGate + j);
                    var atLeft = Lanes(bits[j / 8]);
                    var atRight = Lanes(bits[groups + j / 8]);
                    var atSelf = ~(atLeft | atRight);
                    if (hasLeft) (Vector256.Load(gLeft + j) + (gv & atLeft)).Store(gLeft + j);
                    (Vector256.Load(gRow + j) + (gv & atSelf)).Store(gRow + j);
                    if (hasRight) (Vector256.Load(gRight + j) + (gv & atRight)).Store(gRight + j);
                }
                for (int j = vd; j < d; j++)
                {
                    gRow[2 * d + j] = gyr[j] * gate[j];
                    gGate[j] += gyr[j] * o[j];
                    int bit = 1 << (j - vd);
                    int at = (bits[vd / 8] & bit) != 0 ? -1 : (bits[groups + vd / 8] & bit) != 0 ? 1 : 0;
                    gp[(long)(l + at) * w + j] += gyr[j];
                }
            }
            // ∂S: amax's backward, ∂gate / (number of maxima) at each maximum.
            for (int j = 0; j < vd; j += 8)
            {
                var count = Vector256<float>.Zero;
                for (int l = start; l < end; l++)
                    count += Lanes(wb[(long)l * 3 * groups + 2 * groups + j / 8]) & Vector256<float>.One;
                var share = Vector256.Load(gGate + j) / count;
                for (int l = start; l < end; l++)
                    (Lanes(wb[(long)l * 3 * groups + 2 * groups + j / 8]) & share).Store(gp + (long)l * w + d + j);
                (Vector256.Load(gG2 + j) + Vector256.Load(gGate + j)).Store(gG2 + j);
            }
            for (int j = vd; j < d; j++)
            {
                int bit = 1 << (j - vd);
                float c = 0f;
                for (int l = start; l < end; l++) if ((wb[(long)l * 3 * groups + 2 * groups + vd / 8] & bit) != 0) c += 1f;
                for (int l = start; l < end; l++)
                    gp[(long)l * w + d + j] = (wb[(long)l * 3 * groups + 2 * groups + vd / 8] & bit) != 0 ? gGate[j] / c : 0f;
                gG2[j] += gGate[j];
            }
        }
        // The −10000 fill's backward: nothing flows to a padded token's L0 or S0.
        if (mask is not null)
            for (int l = 0; l < n; l++)
                if (mask[l] == 0f) { new Span<float>(gp + (long)l * w, 2 * d).Clear(); }
    }
}
