using static TorchSharp.torch;

namespace PoNet.Model.Mixers;

/// <summary>
/// .NET handles of tensors that must outlive the TorchSharp callback that made them: the gradients
/// a custom backward returns (libtorch takes its own reference only when the callback returns) and
/// intermediates a custom forward saves (saved only after it returns). One list per thread, shared
/// by the custom nodes, released at the start of the next node call on the thread: within a layer's
/// backward the GA node runs right after the pool kernel, so the kernel's [B,N,3D] gradient is
/// released there instead of being held into the next step (where its 100 MB at the LRA Text shape
/// sat among the next step's activations and fragmented the heap).
/// </summary>
internal static class NodeHandles
{
    [ThreadStatic] static List<Tensor>? pending;

    public static void Keep(IEnumerable<Tensor> tensors) => (pending ??= []).AddRange(tensors);

    public static void Release()
    {
        if (pending is null) return;
        foreach (var t in pending) t.Dispose();
        pending.Clear();
    }
}
