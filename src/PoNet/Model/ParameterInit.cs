using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PoNet.Model;

/// <summary>How <see cref="ParameterInit.Apply"/> draws a Linear layer's weight and bias.</summary>
public enum LinearInit
{
    /// <summary>HF BERT's _init_weights: weight N(0, std), bias 0 (the pretrained layout, docs/MODEL.md §3).</summary>
    Normal,
    /// <summary>torch's nn.Linear default, weight and bias U(±1/√fan_in) (kaiming_uniform with a = √5; LRA, §6).</summary>
    TorchDefault,
}

/// <summary>
/// The one initialisation routine of both layouts: every Linear by <see cref="LinearInit"/>, every
/// Embedding N(0, std), every LayerNorm 1 and 0, modules visited in registration order, each draw from
/// <c>generator</c> (torch's global generator when null). The pretrained layout then zeroes the
/// padding row of the word embeddings (<see cref="PoNetModel.InitWeights"/>).
/// </summary>
public static class ParameterInit
{
    public static void Apply(Module module, LinearInit linearInit, double std, Generator? generator = null)
    {
        using var _ = no_grad();
        foreach (var (_, m) in module.named_modules())
        {
            switch (m)
            {
                case Linear lin when linearInit == LinearInit.Normal:
                    Normal(lin.weight!, std, generator);
                    if (lin.bias is not null) init.zeros_(lin.bias);
                    break;
                case Linear lin:
                    var bound = 1 / Math.Sqrt(lin.weight!.shape[1]);
                    lin.weight!.uniform_(-bound, bound, generator);
                    lin.bias?.uniform_(-bound, bound, generator);
                    break;
                case Embedding emb:
                    Normal(emb.weight!, std, generator);
                    break;
                case LayerNorm ln:
                    ln.weight?.fill_(1);
                    ln.bias?.fill_(0);
                    break;
            }
        }
    }

    static void Normal(Tensor weight, double std, Generator? generator)
    {
        if (generator is null) init.normal_(weight, 0, std);
        else weight.normal_(0, std, generator);
    }
}
