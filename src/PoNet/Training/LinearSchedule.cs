namespace PoNet.Training;

/// <summary>
/// HF's get_linear_schedule_with_warmup: the learning rate of optimiser step <c>step</c> (0-based)
/// rises linearly from 0 over <see cref="Warmup"/> steps, then falls linearly to 0 at
/// <see cref="Steps"/>. With no warm-up (fine-tuning, docs/MODEL.md §5) the first step uses the peak rate.
/// </summary>
public sealed record LinearSchedule(double PeakLearningRate, int Warmup, int Steps)
{
    public double At(int step) =>
        step < Warmup
            ? PeakLearningRate * step / Warmup
            : PeakLearningRate * Math.Max(0.0, (double)(Steps - step) / Math.Max(1, Steps - Warmup));
}
