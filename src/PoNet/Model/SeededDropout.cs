using PoNet.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Model;

/// <summary>
/// The model's dropout: x ⊙ keep / P(keep) in training, identity in eval, as torch's dropout, with
/// masks from <see cref="DropoutMasks"/> (made in parallel; torch's bernoulli_ is a serial loop on
/// AMD CPUs, docs/MODEL.md §10.2) and P(keep) a multiple of 2⁻¹⁶. Two ways to seed them:
/// <list type="bullet">
/// <item><c>new SeededDropout(p)</c> (pretrained layout): each call reseeds the module's own masks
/// with one draw from torch's global generator, so torch.manual_seed still fixes every mask.</item>
/// <item><c>new SeededDropout(p, masks)</c> (LRA): the masks are shared by the whole model and the
/// trainer reseeds them before each step from (seed, step), so a resumed run draws the same masks.</item>
/// </list>
/// </summary>
public sealed class SeededDropout : nn.Module<Tensor, Tensor>
{
    readonly double p;
    readonly DropoutMasks masks;
    readonly bool reseedsFromTorch;

    /// <summary>Masks seeded per call from torch's global generator.</summary>
    public SeededDropout(double p) : base("dropout")
    {
        this.p = p;
        masks = new DropoutMasks(0); // one per module, so its buffer is reused across calls
        reseedsFromTorch = true;
    }

    /// <summary>Masks from <paramref name="sharedMasks"/>, which the caller reseeds.</summary>
    public SeededDropout(double p, DropoutMasks sharedMasks) : base("dropout")
    {
        this.p = p;
        masks = sharedMasks;
    }

    public override Tensor forward(Tensor x)
    {
        if (!training || p == 0) return x.alias();
        using var scope = NewDisposeScope();
        if (reseedsFromTorch) masks.Reseed(randint(long.MaxValue, [1], dtype: ScalarType.Int64).item<long>());
        using var scale = masks.Scale(x.shape, 1 - p);
        return (x * scale.to_type(x.dtype)).MoveToOuterDisposeScope();
    }
}
