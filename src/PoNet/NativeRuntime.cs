using System.Runtime.InteropServices;

namespace PoNet;

/// <summary>
/// Loads TorchSharp's native glue before TorchSharp does, so a failure names the dynamic loader's
/// real reason (e.g. "version `GLIBCXX_3.4.32' not found") instead of TorchSharp's guess that the
/// libtorch package is not referenced — and before TorchSharp's fallback copies ~480 MB of natives.
/// </summary>
public static class NativeRuntime
{
    static bool loaded;

    public static void EnsureLoaded()
    {
        if (loaded) return;
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
