using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using PoNet.Model;
using PoNet.Randomness;

namespace PoNet.Tests;

// torch's global generator is process-wide: run alone.
[Collection(nameof(GlobalStateTests))]
public class SeededDropoutTests
{
    [Fact]
    public void TorchsSeedFixesTheMasksAndEvalIsTheIdentity()
    {
        using var dropout = new SeededDropout(0.25);
        using var x = ones(50, 400);
        manual_seed(3);
        using var a = dropout.forward(x);
        using var b = dropout.forward(x);
        manual_seed(3);
        using var c = dropout.forward(x);
        Assert.True(a.eq(c).all().item<bool>());            // same seed, same mask
        Assert.False(a.eq(b).all().item<bool>());           // a new mask per call
        var kept = a.ne(0).to_type(ScalarType.Float64).mean().item<double>();
        Assert.InRange(kept, 0.74, 0.76);                    // 20k elements: σ ≈ 0.003
        var inverse = (float)(65536.0 / DropoutMasks.Threshold(0.75));
        Assert.True(a.eq(0).logical_or(a.eq(inverse)).all().item<bool>());
        dropout.eval();
        using var d = dropout.forward(x);
        Assert.True(d.eq(x).all().item<bool>());
    }
}
