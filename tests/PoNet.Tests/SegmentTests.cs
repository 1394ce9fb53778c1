using PoNet.Model;
using PoNet.Model.Mixers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PoNet.Tests;

public class SegmentTests
{
    static Tensor Row(params long[] ids) => tensor(ids).unsqueeze(0);

    static long[] Derive(params long[] ids) => Segments.FromSpecialTokens(Row(ids), 101, 102)[0].data<long>().ToArray();

    [Fact]
    public void DerivedSegmentsFollowThePonetRule()
    {
        // [CLS] a b [SEP] c d e [SEP] PAD PAD (docs/MODEL.md §2)
        Assert.Equal([0, 1, 1, 2, 3, 3, 3, 4, 5, 5], Derive(101, 7, 8, 102, 9, 10, 11, 102, 0, 0));
    }

    [Fact]
    public void RowsNotStartingWithClsGetNoNegativeIds()
    {
        Assert.Equal([0, 0, 1, 2], Derive(5, 6, 102, 7));
    }

    [Fact]
    public void SpecialIdsComeFromTheCaller()
    {
        var seg = Segments.FromSpecialTokens(Row(1, 5, 2, 6, 2), clsId: 1, sepId: 2);
        Assert.Equal([0, 1, 2, 3, 4], seg[0].data<long>().ToArray());
    }

    [Fact]
    public void CompactRenumbersRunsAndBoundsIdsByLength()
    {
        // [CLS][SEP][PAD] derives ids 0 2 3: the later reference sized its buffer by N and crashed.
        Assert.Equal([0, 2, 3], Derive(101, 102, 0));
        Assert.Equal([0, 1, 2], Segments.Compact(Row(0, 2, 3), validate: true)[0].data<long>().ToArray());
        Assert.Equal([0, 0, 1, 1, 2], Segments.Compact(Row(4, 4, 9, 9, 1000), validate: true)[0].data<long>().ToArray());
    }

    [Fact]
    public void UserSegmentIdsMustBeNonNegativeAndNonDecreasing()
    {
        var e = Assert.Throws<PoNetInputException>(() => Segments.Compact(Row(0, 1, 0), validate: true));
        Assert.Contains("segment_ids[0, 2] = 0 after 1", e.Message);
        e = Assert.Throws<PoNetInputException>(() => Segments.Compact(Row(-1, 0), validate: true));
        Assert.Contains("segment_ids[0, 0] = -1", e.Message);
    }

    [Fact]
    public void SegmentMaxIsTheMaximumOverEachRun()
    {
        var x = tensor(new float[] { 1, 5, 2, -3, 7, 0 }).view(1, 6, 1);
        var seg = Row(0, 0, 0, 1, 2, 2);
        var s = SegmentMaxPool.ByIds(x, seg, 3);
        Assert.Equal([5f, 5, 5, -3, 7, 7], s.flatten().data<float>().ToArray());
    }

    [Fact]
    public void SegmentMaxByIdsSurvivesGarbageCollectionDuringTheCall()
    {
        // TorchSharp passes a long argument to TorchScript as a temporary Scalar that nothing keeps
        // alive; a collection between taking its handle and the native call freed it, and libtorch
        // failed in Scalar::toLong ("Expected false to be true", seen once in CI). ByIds passes the
        // count by value; collections on another thread while it runs must not matter.
        var x = tensor(new float[] { 1, 5, 2, -3, 7, 0 }).view(1, 6, 1);
        var seg = Row(0, 0, 0, 1, 2, 2);
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested) { GC.Collect(); GC.WaitForPendingFinalizers(); }
        });
        collector.Start();
        try
        {
            for (var i = 0; i < 3000; i++)
            {
                using var s = SegmentMaxPool.ByIds(x, seg, 3);
                Assert.Equal(7f, s[0, 5, 0].item<float>());
            }
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
    }

    [Fact]
    public void ClsSepPadDoesNotCrashTheModel()
    {
        var config = TinyModels.Config(vocab: 120);
        var model = new PoNetForPreTraining(config);
        model.eval();
        using var _ = no_grad();
        var output = model.forward(new PoNetInputs(Row(101, 102, 0), Row(1, 1, 0)), null);
        Assert.False(output.Base.LastHiddenState.isnan().any().item<bool>());
    }
}
