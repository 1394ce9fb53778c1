namespace PoNet.Training;

/// <summary>
/// Independent, reproducible seeds for each random stream of a run (data, masking, dropout of step k),
/// so that a resumed run can recreate the streams of the step it resumes at. SplitMix64: unlike
/// <see cref="HashCode"/>, the same in every process.
/// </summary>
public static class Seeds
{
    public static long Derive(long seed, long stream)
    {
        unchecked
        {
            ulong z = (ulong)seed + 0x9E3779B97F4A7C15UL * (ulong)(stream + 1);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return (long)((z ^ (z >> 31)) >> 1);
        }
    }

    /// <summary>A <see cref="Random"/> for a stream; seeded instances give the same sequence on every .NET version.</summary>
    public static Random Random(long seed, long stream) => new((int)(Derive(seed, stream) & int.MaxValue));
}
