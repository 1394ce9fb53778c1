namespace PoNet.Randomness;

/// <summary>SplitMix64 (Steele, Lea, Flood 2014): small, fast, well mixed, fully specified.</summary>
public static class SplitMix
{
    public static ulong Next(ref ulong state) => Mix(state += 0x9E3779B97F4A7C15UL);

    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A non-negative torch seed for the dropout masks of one step.</summary>
    public static long StepSeed(long seed, int step) =>
        (long)(Mix(Mix((ulong)seed) ^ (ulong)step * 0xD1B54A32D192ED03UL) >> 1);
}
