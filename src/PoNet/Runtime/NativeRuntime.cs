using System.Runtime.InteropServices;

namespace PoNet.Runtime;

/// <summary>
/// Loads TorchSharp's native glue before TorchSharp does, so a failure names the dynamic loader's
/// real reason (e.g. "version `GLIBCXX_3.4.32' not found") instead of TorchSharp's guess that the
/// libtorch package is not referenced — and before TorchSharp's fallback copies ~480 MB of natives.
/// </summary>
public static partial class NativeRuntime
{
    static bool loaded;

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    /// <summary>
    /// libtorch's OpenMP threads spin while they wait. When another busy process shares the cores
    /// (a second run, a build), every one of the hundreds of small parallel ops per step then waits
    /// for a time slice: measured here, a PoNet LRA step went from 0.39 s to 2.6 s. Sleeping
    /// waiters (OMP_WAIT_POLICY=PASSIVE) avoid that. It must be set in the native environment before
    /// libgomp loads; a value the user set is left alone.
    /// </summary>
    static void PreferPassiveOpenMpWaits()
    {
        if (!OperatingSystem.IsLinux()) return;
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null || Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is not null) return;
        try
        {
            SetEnv("OMP_WAIT_POLICY", "PASSIVE", 0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    /// <summary>
    /// Every large tensor libtorch allocates is fresh memory that the kernel maps in 4 KiB pages on
    /// first touch. On this VM a page fault costs ~11 µs, so a [32, 4096, 320] linear output spent
    /// 0.5 s faulting and 0.05 s computing (perf: 45 % of an op benchmark in exc_page_fault and
    /// clear_page). With THP_MEM_ALLOC_ENABLE=1 libtorch aligns allocations of 2 MiB and more to
    /// 2 MiB and asks for transparent huge pages (madvise), 512× fewer faults. libtorch reads the
    /// variable once, so it is set in the native environment before libtorch loads; a value the
    /// user set is left alone. Where the kernel has THP off, the advice is ignored.
    /// </summary>
    static void PreferHugePages()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("THP_MEM_ALLOC_ENABLE") is not null) return;
        try
        {
            SetEnv("THP_MEM_ALLOC_ENABLE", "1", 0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    public static void EnsureLoaded()
    {
        if (loaded) return;
        PreferPassiveOpenMpWaits();
        PreferHugePages();
        string library = OperatingSystem.IsWindows() ? "LibTorchSharp.dll"
            : OperatingSystem.IsMacOS() ? "libLibTorchSharp.dylib" : "libLibTorchSharp.so";
        var path = Path.Combine(AppContext.BaseDirectory, library);
        if (!File.Exists(path))
            throw new InvalidOperationException(
                $"{library} is not in {AppContext.BaseDirectory}: the executable must reference the libtorch CPU backend " +
                "for its OS and set a RuntimeIdentifier, as src/PoNet.Cli and tests/PoNet.Tests do (build/LibTorchNative.targets).");
        try
        {
            NativeLibrary.Load(path);
        }
        catch (DllNotFoundException e)
        {
            var hint = e.Message.Contains("GLIBCXX_3.4.32", StringComparison.Ordinal)
                ? " The build step in build/LibTorchNative.targets marks that version weak in the output copy; rebuild, or check its 'PoNet:' build messages."
                : "";
            throw new InvalidOperationException($"cannot load {path}: {e.Message}.{hint}", e);
        }
        loaded = true;
    }
}
