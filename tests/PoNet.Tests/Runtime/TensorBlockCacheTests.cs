using PoNet.Lra;
using PoNet.Model.Mixers;
using PoNet.Runtime;
using Xunit;
using static TorchSharp.torch;

namespace PoNet.Tests.Runtime;

/// <summary>
/// The caching CPU allocator (src/PoNet/Runtime/TensorBlockCache.cs). It is process-wide, so these
/// tests run alone; they leave it enabled, as ponet's commands do.
/// </summary>
[Collection(nameof(GlobalStateTests))]
public class TensorBlockCacheTests
{
    static void RequireCache()
    {
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
            return;
        Assert.True(TensorBlockCache.Enable(), $"the cache stayed out: {TensorBlockCache.Refusal}");
    }

    static bool Supported => OperatingSystem.IsLinux()
                             && System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64;

    [Fact]
    public void AFreedLargeTensorsBlockServesTheNextRequestOfAboutItsSize()
    {
        if (!Supported) return;
        RequireCache();
        nint first;
        using (var a = empty(3L << 20))                       // 12 MiB
        {
            Assert.True(TensorBlockCache.Owns(a));
            first = TensorBlockCache.DataAddress(a);
            a.fill_(7f);
        }
        var (hits, _, _) = TensorBlockCache.Counts;
        using (var b = empty(3L << 20))
        {
            Assert.Equal(first, TensorBlockCache.DataAddress(b));
            Assert.Equal(hits + 1, TensorBlockCache.Counts.Hits);
        }
        using (var c = empty((3L << 20) - (1L << 18)))         // 11 MiB: the same 12 MiB block
            Assert.Equal(first, TensorBlockCache.DataAddress(c));
        using (var big = empty(3L << 20))
        using (var half = empty(3L << 19))                     // 6 MiB while the 12 MiB block is taken: its own block
        {
            Assert.True(TensorBlockCache.Owns(half));
            Assert.NotEqual(TensorBlockCache.DataAddress(big), TensorBlockCache.DataAddress(half));
        }
        TensorBlockCache.Trim();
        nint twelve;
        using (var t = empty(3L << 20)) twelve = TensorBlockCache.DataAddress(t);
        using (var four = empty(1L << 20))                     // the only free block is 12 MiB: too big for 4 MiB
        {
            Assert.True(TensorBlockCache.Owns(four));
            Assert.NotEqual(twelve, TensorBlockCache.DataAddress(four));
        }
        using var small = empty(1000);                         // below 1 MiB: libtorch's own allocator
        Assert.False(TensorBlockCache.Owns(small));
    }

    [Fact]
    public void TrainingGivesTheSameBitsWithAndWithoutTheCache()
    {
        if (!Supported) return;
        // Reused blocks hold the previous tensors' values where fresh memory is zero: an op that
        // read memory it had not written would give different results.
        float[][] Train(bool cache)
        {
            if (cache) RequireCache(); else TensorBlockCache.Disable();
            manual_seed(3);
            var config = new LraConfig
            {
                Task = "bench", Mixer = MixerKind.PoNet, Layers = 2, Dim = 64, Heads = 2, Ffn = 128,
                VocabSize = 64, Classes = 2, MaxLength = 1024, Segments = 64,
            }.Validate();
            using var model = LraModel.Create(config);
            var optimizer = optim.AdamW(model.parameters(), lr: 1e-3, weight_decay: 0);
            using var tokens = randint(1, 60, [8, 1024], dtype: ScalarType.Int64);
            using var labels = randint(0, 2, [8], dtype: ScalarType.Int64);
            model.train();
            for (int step = 0; step < 3; step++)
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                nn.functional.cross_entropy(model.forward(new LraBatch(tokens, null, labels)), labels).backward();
                optimizer.step();
            }
            return [.. model.parameters().Select(p => p.data<float>().ToArray())];
        }
        var without = Train(cache: false);
        var hitsBefore = TensorBlockCache.Counts.Hits;
        var with = Train(cache: true);
        Assert.True(TensorBlockCache.Counts.Hits > hitsBefore + 20, "the training steps reused cached blocks");
        Assert.Equal(without.Length, with.Length);
        for (int i = 0; i < with.Length; i++) Assert.Equal(without[i], with[i]);
    }

    [Fact]
    public void DisablingReleasesTheFreeBlocksAndTheBlocksStillInUseWhenFreed()
    {
        if (!Supported) return;
        RequireCache();
        TensorBlockCache.Trim();
        var held = empty(5L << 20);
        empty(5L << 20).Dispose();
        Assert.True(TensorBlockCache.FreeBytes > 0);
        TensorBlockCache.Disable();
        Assert.Equal(0, TensorBlockCache.FreeBytes);
        using (var fresh = empty(5L << 20)) Assert.False(TensorBlockCache.Owns(fresh));
        var reserved = TensorBlockCache.ReservedBytes;
        held.Dispose();
        Assert.Equal(reserved - (20L << 20), TensorBlockCache.ReservedBytes);
        Assert.Equal(0, TensorBlockCache.FreeBytes);
        RequireCache();
    }

    [Fact]
    public void TrimmingGivesTheMemoryBackToTheSystemAtOnce()
    {
        if (!Supported) return;
        RequireCache();
        TensorBlockCache.Trim();
        using (var t = empty(64L << 20)) t.fill_(1f);          // 256 MiB, touched, then freed into the cache
        Assert.True(TensorBlockCache.FreeBytes >= 256L << 20);
        var before = NativeMemory.ResidentMegabytes()!.Value;
        TensorBlockCache.Trim();
        var after = NativeMemory.ResidentMegabytes()!.Value;
        Assert.True(before - after > 200, $"resident {before:F0} -> {after:F0} MB: each block is its own mapping, unmapped when trimmed");
    }

    [Fact]
    public void FreeBlocksStayWithinTwiceThePeakInUse()
    {
        if (!Supported) return;
        RequireCache();
        TensorBlockCache.Trim();
        var released = TensorBlockCache.Counts.Released;
        long total = 0;
        // Sizes that grow by more than a quarter each time: no free block serves the next request.
        for (long mib = 2; mib <= 96; mib = mib * 5 / 4 + 2)
        {
            using var t = empty(mib << 18);
            t.fill_(1f);
            total += mib << 20;
            var (now, peak) = TensorBlockCache.InUseBytes;
            Assert.True(TensorBlockCache.FreeBytes <= Math.Max(2 * peak, 256L << 20));
            Assert.Equal(TensorBlockCache.ReservedBytes, TensorBlockCache.FreeBytes + now);
        }
        var cap = Math.Max(2 * TensorBlockCache.InUseBytes.Peak, 256L << 20);
        if (total > cap) Assert.True(TensorBlockCache.Counts.Released > released, "blocks beyond the cap went back to the system");
        Assert.True(TensorBlockCache.FreeBytes <= cap);
    }

    [Fact]
    public void ThreadsAllocatingAndFreeingAtOnceKeepTheBooksBalanced()
    {
        if (!Supported) return;
        RequireCache();
        var before = TensorBlockCache.InUseBytes.Now;
        var sums = new float[64];
        Parallel.For(0, sums.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            using var t = full(1L << 19, (float)i);              // 2 MiB
            using var u = t * 2;
            sums[i] = u.sum().item<float>();
        });
        for (int i = 0; i < sums.Length; i++) Assert.Equal(2f * i * (1 << 19), sums[i]);
        Assert.Equal(before, TensorBlockCache.InUseBytes.Now);
        Assert.Equal(TensorBlockCache.ReservedBytes, TensorBlockCache.FreeBytes + TensorBlockCache.InUseBytes.Now);
    }
}
