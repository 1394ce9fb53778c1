namespace PoNet.Benchmarks;

/// <summary>Resident-memory readings of this process (Linux /proc; zeros elsewhere).</summary>
public static class ProcessMemory
{
    /// <summary>Peak resident set size (VmHWM) in MiB since start or the last <see cref="ResetPeak"/>.</summary>
    public static double PeakMiB() => ReadKiB("/proc/self/status", "VmHWM:") / 1024.0;

    public static double CurrentMiB() => ReadKiB("/proc/self/status", "VmRSS:") / 1024.0;

    public static double CurrentMiB(int pid) => ReadKiB($"/proc/{pid}/status", "VmRSS:") / 1024.0;

    /// <summary>Resets VmHWM to the current RSS (writing 5 to clear_refs, Linux ≥ 4.0), so each measurement has its own peak.</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    static long ReadKiB(string file, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(file))
                if (line.StartsWith(key, StringComparison.Ordinal))
                    return long.Parse(line[key.Length..].Trim().Split(' ')[0]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return 0;
    }
}
