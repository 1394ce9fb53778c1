using PoNet.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PoNet.Training;

/// <summary>AdamW's constants. β1 may be moved at every step by the schedule (<see cref="ISchedule"/>).</summary>
public sealed record AdamWSettings(double Beta1 = 0.9, double Beta2 = 0.999, double Eps = 1e-8, double WeightDecay = 0)
{
    /// <summary>Pre-training and fine-tuning (docs/MODEL.md §4–5): β 0.9/0.999, ε 1e-8.</summary>
    public static AdamWSettings Bert(double weightDecay = 0) => new(WeightDecay: weightDecay);
    /// <summary>LRA (docs/MODEL.md §6): ε 1e-6, no weight decay.</summary>
    public static AdamWSettings Lra => new(Eps: 1e-6);
}

/// <summary>
/// AdamW and its state as files: the moments in a safetensors file by parameter name, the
/// per-parameter step counts beside them, so a resumed run continues bit for bit.
/// </summary>
public static class AdamWState
{
    /// <summary>TorchSharp's AdamW defaults to no weight decay (PyTorch's to 0.01): every constant is passed explicitly.</summary>
    public static AdamW Create(Module module, double learningRate, AdamWSettings settings) =>
        new(module.parameters(), learningRate, beta1: settings.Beta1, beta2: settings.Beta2, eps: settings.Eps, weight_decay: settings.WeightDecay);

    /// <summary>The learning rate and β1 of the next step, for every parameter group.</summary>
    public static void Set(AdamW optimizer, double learningRate, double beta1)
    {
        foreach (var group in optimizer.ParamGroups)
        {
            var options = (AdamW.Options)((ParamGroup)group).Options;
            options.LearningRate = learningRate;
            options.beta1 = beta1;
        }
    }

    /// <summary>Writes the moments to <paramref name="path"/> and returns the step count of each parameter.</summary>
    public static Dictionary<string, long> Save(Module module, AdamW optimizer, string path)
    {
        var (moments, steps) = Live(module, optimizer);
        SafeTensors.Save(path, moments);
        return steps;
    }

    public static void Restore(Module module, AdamW optimizer, string path, IReadOnlyDictionary<string, long> steps)
    {
        var (moments, _) = Live(module, optimizer);
        var saved = SafeTensors.Load(path);
        try
        {
            var missing = moments.Keys.Where(k => !saved.ContainsKey(k)).ToList();
            if (missing.Count > 0 || saved.Count != moments.Count)
                throw new PoNetInputException($"{path}: optimizer state does not match the model (missing: {string.Join(", ", missing.Take(5))})");
            using (no_grad())
                foreach (var (name, target) in moments)
                {
                    if (!target.shape.SequenceEqual(saved[name].shape))
                        throw new PoNetInputException($"{path}: '{name}' has shape [{string.Join(", ", saved[name].shape)}], expected [{string.Join(", ", target.shape)}]");
                    target.copy_(saved[name]);
                }
        }
        finally
        {
            foreach (var t in saved.Values) t.Dispose();
        }
        var names = module.named_parameters().Select(p => p.name).ToList();
        var states = optimizer.state_dict().State;
        for (int i = 0; i < names.Count; i++)
        {
            if (!steps.TryGetValue(names[i], out var step))
                throw new PoNetInputException($"{path}: no optimizer step count for parameter '{names[i]}'");
            ((AdamW.State)states[i]).step = step;
        }
    }

    /// <summary>The optimizer's own moment tensors by parameter name (its state list follows module.parameters()).</summary>
    static (Dictionary<string, Tensor> Moments, Dictionary<string, long> Steps) Live(Module module, AdamW optimizer)
    {
        var names = module.named_parameters().Select(p => p.name).ToList();
        var states = optimizer.state_dict().State;
        if (states.Count != names.Count)
            throw new InvalidOperationException($"AdamW holds {states.Count} states for {names.Count} parameters");
        var moments = new Dictionary<string, Tensor>();
        var steps = new Dictionary<string, long>();
        for (int i = 0; i < names.Count; i++)
        {
            var s = (AdamW.State)states[i];
            moments[names[i] + ".exp_avg"] = s.exp_avg;
            moments[names[i] + ".exp_avg_sq"] = s.exp_avg_sq;
            steps[names[i]] = s.step;
        }
        return (moments, steps);
    }
}
