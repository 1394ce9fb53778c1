namespace PoNet.Lra.Data;

/// <summary>Cutting token sequences to a task's maximum length, counting what was cut.</summary>
public static class LraTruncation
{
    /// <summary>The first <paramref name="maxLength"/> tokens; the same array when it already fits.</summary>
    public static int[] Truncate(int[] tokens, int maxLength, ref int truncatedCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        if (tokens.Length <= maxLength)
            return tokens;
        truncatedCount++;
        return tokens[..maxLength];
    }

    /// <summary>Every example cut to <paramref name="maxLength"/>; returns how many were cut.</summary>
    public static List<LraExample> Truncate(IEnumerable<LraExample> examples, int maxLength, out int truncatedCount)
    {
        int count = 0;
        var result = examples.Select(e => e with { Tokens = Truncate(e.Tokens, maxLength, ref count) }).ToList();
        truncatedCount = count;
        return result;
    }

    /// <summary>Both documents of every pair cut to <paramref name="maxLength"/>; counts cut documents.</summary>
    public static List<LraPairExample> Truncate(IEnumerable<LraPairExample> examples, int maxLength, out int truncatedCount)
    {
        int count = 0;
        var result = examples.Select(e => e with
        {
            Tokens1 = Truncate(e.Tokens1, maxLength, ref count),
            Tokens2 = Truncate(e.Tokens2, maxLength, ref count),
        }).ToList();
        truncatedCount = count;
        return result;
    }
}
