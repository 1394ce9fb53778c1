using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Model;

/// <summary>Intermediate tensors the golden files record; filled only when a trace is passed.</summary>
public sealed class PoNetTrace : IDisposable
{
    public List<Tensor> HiddenStates { get; } = [];
    public List<Tensor> AttnContext { get; } = [];
    public List<Tensor> LocalMax { get; } = [];
    public List<Tensor> SegmentMax { get; } = [];

    public void Dispose()
    {
        foreach (var t in HiddenStates.Concat(AttnContext).Concat(LocalMax).Concat(SegmentMax)) t.Dispose();
    }
}
