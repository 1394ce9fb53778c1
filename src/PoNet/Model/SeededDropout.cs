using PoNet.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Model;

/// <summary>
/// Dropout for the pretrained-layout model: the same function as torch's Dropout, with masks from
/// <see cref="DropoutMasks"/> seeded by one draw from torch's global generator per call, so
/// torch.manual_seed still fixes every mask while the masks are made in parallel (torch's own
/// bernoulli_ is a serial loop on AMD CPUs).
/// </summary>
public sealed class SeededDropout(double p) : nn.Module<Tensor, Tensor>("dropout")
{
    readonly DropoutMasks masks = new(0); // one per module, so its buffer is reused across calls

    public override Tensor forward(Tensor x)
    {
        if (!training || p == 0) return x.alias();
        using var scope = NewDisposeScope();
        masks.Reseed(randint(long.MaxValue, [1], dtype: ScalarType.Int64).item<long>());
        using var scale = masks.Scale(x.shape, 1 - p);
        return (x * scale.to_type(x.dtype)).MoveToOuterDisposeScope();
    }
}
