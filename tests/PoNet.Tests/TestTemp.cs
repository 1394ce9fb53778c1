namespace PoNet.Tests;

/// <summary>
/// Scratch folders of the tests, all under one folder per test process
/// ($TMPDIR/ponet-tests/&lt;pid&gt;) so that a run leaves nothing behind in the temp folder itself.
/// The process's own folder is removed at exit; the test host is not always let run its exit
/// handlers, so the folders of processes that are gone are also removed when the next run starts.
/// </summary>
internal static class TestTemp
{
    static readonly Lazy<string> Root = new(() =>
    {
        var parent = Path.Combine(Path.GetTempPath(), "ponet-tests");
        Directory.CreateDirectory(parent);
        foreach (var dir in Directory.EnumerateDirectories(parent))
            if (int.TryParse(Path.GetFileName(dir), out int pid) && !Running(pid))
                TryDelete(dir);
        var root = Directory.CreateDirectory(Path.Combine(parent, Environment.ProcessId.ToString())).FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root);
        return root;
    });

    /// <summary>A new empty folder whose name starts with <paramref name="prefix"/>.</summary>
    public static string Dir(string prefix = "ponet-")
    {
        var dir = Path.Combine(Root.Value, prefix + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    static bool Running(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
