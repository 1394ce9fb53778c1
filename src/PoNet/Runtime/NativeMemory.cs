using System.Runtime.InteropServices;

namespace PoNet.Runtime;

/// <summary>Process-wide settings of the native allocator that libtorch's CPU tensors use.</summary>
public static partial class NativeMemory
{
    const int M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int param, int value);

    /// <summary>
    /// glibc hands every freed block of 32 MiB and more back to the OS, so each training step
    /// re-faults and zeroes its large activations (ENGINEERING.md: 4× slower steps at N = 4096 on
    /// the reference code). This keeps freed memory in the process: all sizes up to 2 GiB come from
    /// the heap and the heap is never trimmed. The resident size then stays at its peak. The heap
    /// still fragments under a training step's large allocations and grows by tens of MB per step,
    /// so tensors of 1 MiB and more also get their own cache (<see cref="TensorBlockCache"/>),
    /// which reuses the same blocks every step. Linux/glibc only; elsewhere, or when the
    /// PONET_KEEP_FREED_MEMORY environment variable is 0, it does nothing. Returns whether the
    /// glibc settings took effect.
    /// </summary>
    public static bool KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("PONET_KEEP_FREED_MEMORY") == "0")
            return false;
        try
        {
            bool glibc = Mallopt(M_MMAP_THRESHOLD, int.MaxValue) == 1 & Mallopt(M_TRIM_THRESHOLD, int.MaxValue) == 1;
            TensorBlockCache.Enable();
            return glibc;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // not glibc (e.g. musl)
        }
    }

    /// <summary>
    /// The opposite of <see cref="KeepFreedMemory"/>, for measuring working sets: every block of
    /// 256 KiB and more is its own mapping, returned to the OS when freed. glibc's default is not
    /// that: its mmap threshold grows with each freed mapping up to 32 MiB, after which blocks below
    /// that size come from the heap and stay resident when freed, so the peak would include whatever
    /// fragments the heap kept. Setting the threshold fixes it (and turns the growth off); the
    /// tensor cache, if on, is turned off and its free blocks released. Returns
    /// whether both settings took effect.
    /// </summary>
    public static bool ReturnFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return false;
        TensorBlockCache.Disable();
        try
        {
            return Mallopt(M_MMAP_THRESHOLD, 256 * 1024) == 1 & Mallopt(M_TRIM_THRESHOLD, 256 * 1024) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Peak resident set size of this process in MiB (VmHWM), or null where /proc is unavailable.</summary>
    public static double? PeakResidentMegabytes() => ReadStatusKiB("VmHWM:") / 1024.0;

    /// <summary>Current resident set size of this process in MiB (VmRSS), or null where /proc is unavailable.</summary>
    public static double? ResidentMegabytes() => ReadStatusKiB("VmRSS:") / 1024.0;

    /// <summary>Current resident set size of another process in MiB, or null where it cannot be read.</summary>
    public static double? ResidentMegabytes(int pid) => ReadStatusKiB("VmRSS:", $"/proc/{pid}/status") / 1024.0;

    /// <summary>Resets this process's VmHWM to its current RSS (Linux ≥ 4.0), so a measurement gets its own peak.</summary>
    public static void ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    static long? ReadStatusKiB(string key, string file = "/proc/self/status")
    {
        try
        {
            foreach (var line in File.ReadLines(file))
                if (line.StartsWith(key, StringComparison.Ordinal))
                    return long.Parse(line[key.Length..].Trim().Split(' ')[0]);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }
}
