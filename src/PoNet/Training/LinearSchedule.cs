namespace PoNet.Training;

/// <summary>
/// What the optimiser uses at each step: the learning rate and AdamW's β1. A pure function of the
/// 0-based step index, so a resumed run needs no scheduler state.
/// </summary>
public interface ISchedule
{
    (double LearningRate, double Beta1) At(int step);
}

/// <summary>
/// HF's get_linear_schedule_with_warmup: the learning rate of optimiser step <c>step</c> (0-based)
/// rises linearly from 0 over <see cref="Warmup"/> steps, then falls linearly to 0 at
/// <see cref="Steps"/>. With no warm-up (fine-tuning, docs/MODEL.md §5) the first step uses the peak
/// rate. β1 stays at <see cref="Beta1"/>.
/// </summary>
public sealed record LinearSchedule(double PeakLearningRate, int Warmup, int Steps, double Beta1 = 0.9) : ISchedule
{
    public double LearningRate(int step) =>
        step < Warmup
            ? PeakLearningRate * step / Warmup
            : PeakLearningRate * Math.Max(0.0, (double)(Steps - step) / Math.Max(1, Steps - Warmup));

    public (double LearningRate, double Beta1) At(int step) => (LearningRate(step), Beta1);
}
