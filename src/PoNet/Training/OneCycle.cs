namespace PoNet.Training;

/// <summary>
/// The paper's LRA schedule, identical to PyTorch's OneCycleLR(max_lr, total_steps = steps,
/// pct_start = warmup/steps, anneal_strategy = 'linear', div_factor = 25, final_div_factor = 1e4,
/// cycle_momentum, base_momentum = 0.85, max_momentum = 0.95) stepped once per optimiser step:
/// lr rises linearly from lr/25 at step 0 to lr at step warmup−1, then falls linearly to lr/25/1e4 at
/// step steps−1; β1 moves the other way, 0.95 → 0.85 → 0.95. A pure function of the step, so a
/// resumed run needs no scheduler state.
/// </summary>
public sealed record OneCycle(double MaxLearningRate, int Warmup, int Steps) : ISchedule
{
    public const double DivFactor = 25, FinalDivFactor = 1e4, BaseMomentum = 0.85, MaxMomentum = 0.95;

    public double InitialLearningRate => MaxLearningRate / DivFactor;
    public double MinLearningRate => InitialLearningRate / FinalDivFactor;

    /// <summary>lr and β1 for the optimiser step with 0-based index <paramref name="step"/>.</summary>
    public (double LearningRate, double Beta1) At(int step)
    {
        // PyTorch: phase ends at float(pct_start * total_steps) - 1 and total_steps - 1.
        double end1 = (double)Warmup / Steps * Steps - 1, end2 = Steps - 1;
        double start, end, lr0, lr1, m0, m1;
        if (step <= end1 || end1 >= end2)
            (start, end, lr0, lr1, m0, m1) = (0, end1, InitialLearningRate, MaxLearningRate, MaxMomentum, BaseMomentum);
        else
            (start, end, lr0, lr1, m0, m1) = (end1, end2, MaxLearningRate, MinLearningRate, BaseMomentum, MaxMomentum);
        // PyTorch divides 0 by 0 when a phase is one step long (warmup = 1); take its end value.
        double pct = end > start ? (step - start) / (end - start) : 1.0;
        return (Linear(lr0, lr1, pct), Linear(m0, m1, pct));
    }

    // PyTorch's _annealing_linear, same operation order for identical rounding.
    static double Linear(double start, double end, double pct) => (end - start) * pct + start;
}
