namespace PoNet.Runtime;

/// <summary>
/// Refuses a request that cannot fit before anything large is allocated: a config or command-line
/// size whose lower-bound memory estimate exceeds what the machine has free. The estimate is a
/// lower bound (weights, optimiser state and the smallest activations), so a refused request would
/// certainly have failed; one that passes may still be tight.
/// </summary>
public static class MemoryBudget
{
    /// <summary>
    /// Bytes the kernel says can be allocated without swapping (MemAvailable of /proc/meminfo), or
    /// the PONET_MEMORY_LIMIT environment variable (bytes) when set; null where neither is known.
    /// </summary>
    public static long? AvailableBytes()
    {
        if (long.TryParse(Environment.GetEnvironmentVariable("PONET_MEMORY_LIMIT"), out var limit) && limit > 0) return limit;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)
                    && long.TryParse(line["MemAvailable:".Length..].Trim().Split(' ')[0], out var kib))
                    return kib * 1024;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>Throws <see cref="PoNetInputException"/> when <paramref name="bytes"/> (a lower bound) exceeds the available memory.</summary>
    public static void Check(string source, string what, double bytes)
    {
        if (AvailableBytes() is long available && bytes > available)
            throw new PoNetInputException(
                $"{source}: {what} needs at least {Format(bytes)} of memory but {Format(available)} is available (MemAvailable); make it smaller");
    }

    public static string Format(double bytes) =>
        bytes >= 1L << 30 ? $"{bytes / (1L << 30):0.#} GiB" : bytes >= 1 << 20 ? $"{bytes / (1 << 20):0.#} MiB" : $"{bytes / 1024:0.#} KiB";

    /// <summary>
    /// A lower bound on one training step of a pretrained-layout model: float32 weights, gradients
    /// and AdamW's two moments (4 copies), and per layer at least four [tokens, hidden] activations
    /// plus the feed-forward's [tokens, ffn] kept for backward, and <paramref name="logitTokens"/> rows
    /// of vocabulary logits.
    /// </summary>
    public static double TrainingStepBytes(long parameters, long tokens, int layers, int hidden, int ffn, long logitTokens = 0, int vocab = 0) =>
        4.0 * (4.0 * parameters + (double)tokens * layers * (4.0 * hidden + ffn) + (double)logitTokens * vocab);
}
