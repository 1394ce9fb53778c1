namespace PoNet.Randomness;

/// <summary>
/// Independent, reproducible seeds for each random stream of a run (data, masking, dropout of step k),
/// so that a resumed run can recreate the streams of the step it resumes at. SplitMix64 (<see cref="SplitMix"/>):
/// unlike <see cref="HashCode"/>, the same in every process.
/// </summary>
public static class Seeds
{
    public static long Derive(long seed, long stream) =>
        unchecked((long)(SplitMix.Mix((ulong)seed + 0x9E3779B97F4A7C15UL * (ulong)(stream + 1)) >> 1));

    /// <summary>The generator of one stream (<see cref="SeededRandom"/>): the same sequence on every platform and .NET version.</summary>
    public static SeededRandom Random(long seed, long stream) => new((ulong)Derive(seed, stream));
}
