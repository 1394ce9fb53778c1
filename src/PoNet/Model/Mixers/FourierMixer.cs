using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Model.Mixers;

/// <summary>
/// FNet's mixer (docs/MODEL.md §9): Re(FFT2(X)) over the sequence and hidden dims, no parameters. In
/// LRA padded rows are zeroed first so that padding cannot leak into real tokens (the result still
/// depends on N, which is fixed); HF's FNet takes no mask and transforms every row
/// (<see cref="MixerSpec.FourierZeroesPads"/> off).
/// </summary>
public sealed class FourierMixer : TokenMixer
{
    readonly bool zeroesPads;

    public FourierMixer(MixerSpec spec) : base(nameof(FourierMixer))
    {
        zeroesPads = spec.FourierZeroesPads;
        RegisterComponents();
    }

    /// <summary>No parameters: the FFT is the whole mixer.</summary>
    public override int CostModelProjections => 0;

    public override IReadOnlyList<int> ProjectionWidths => [];

    public override Tensor forward(Tensor x, MixerContext ctx)
    {
        using var scope = NewDisposeScope();
        var input = zeroesPads ? ctx.ZeroPads(x) : x;
        return fft.fft2(input, dim: [-2, -1]).real.contiguous().MoveToOuterDisposeScope();
    }
}
