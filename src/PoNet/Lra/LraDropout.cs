using TorchSharp;
using static TorchSharp.torch;
using PoNet.Randomness;

namespace PoNet.Lra;

/// <summary>
/// Dropout with masks from the model's <see cref="DropoutMasks"/>: x ⊙ keep / P(keep) in training,
/// identity in eval, as torch's dropout, with P(keep) a multiple of 2⁻¹⁶ (see <see cref="DropoutMasks"/>).
/// </summary>
public sealed class LraDropout(double p, DropoutMasks masks) : nn.Module<Tensor, Tensor>(nameof(LraDropout))
{
    public override Tensor forward(Tensor x)
    {
        if (!training || p == 0) return x.alias();
        using var scope = NewDisposeScope();
        using var scale = masks.Scale(x.shape, 1 - p);
        return (x * scale.to_type(x.dtype)).MoveToOuterDisposeScope();
    }
}
