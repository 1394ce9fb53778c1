using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Lra;

/// <summary>
/// FNet's mixer: Re(FFT2(X)) over the sequence and hidden dims, no parameters. Padded rows are zeroed
/// first so that padding cannot leak into real tokens (the result still depends on N, which is fixed).
/// </summary>
public sealed class FourierMixer : TokenMixer
{
    public FourierMixer() : base(nameof(FourierMixer)) => RegisterComponents();

    public override Tensor forward(Tensor x, MixerInputs m)
    {
        using var scope = NewDisposeScope();
        var clean = m.ZeroPads(x);
        return fft.fft2(clean, dim: [-2, -1]).real.contiguous().MoveToOuterDisposeScope();
    }
}
