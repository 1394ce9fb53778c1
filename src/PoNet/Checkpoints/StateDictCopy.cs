using static TorchSharp.torch;

namespace PoNet.Checkpoints;

/// <summary>Strict copy of saved tensors into a model's own (checkpoint folders themselves: Training.RunCheckpoints).</summary>
public static class StateDictCopy
{
    /// <summary>Copies every tensor of <paramref name="source"/> into the same-named target, after checking names, shapes and dtypes all match.</summary>
    public static void CopyInto(IReadOnlyDictionary<string, Tensor> targets, Dictionary<string, Tensor> source, string file)
    {
        try
        {
            var missing = targets.Keys.Where(k => !source.ContainsKey(k)).ToList();
            var extra = source.Keys.Where(k => !targets.ContainsKey(k)).ToList();
            if (missing.Count > 0 || extra.Count > 0)
                throw new PoNetInputException($"{file}: does not match the model: missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", extra)}]");
            foreach (var (name, target) in targets)
            {
                var s = source[name];
                if (!s.shape.SequenceEqual(target.shape) || s.dtype != target.dtype)
                    throw new PoNetInputException(
                        $"{file}: tensor '{name}' is {s.dtype}[{string.Join(", ", s.shape)}], the model needs {target.dtype}[{string.Join(", ", target.shape)}]");
            }
            using (no_grad())
                foreach (var (name, target) in targets) target.copy_(source[name]);
        }
        finally
        {
            foreach (var t in source.Values) t.Dispose();
        }
    }
}
