using System.Text.RegularExpressions;

namespace PoNet.IO;

/// <summary>
/// Writes that never leave a half-written file behind: write a temp file beside the target, flush
/// it to disk, then rename over the target (atomic on one file system). A process killed mid-write
/// leaves only its temp file (<c>.NAME.PID.GUID.tmp</c>); the next write into the same folder removes
/// those of processes that no longer run.
/// </summary>
public static partial class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new PoNetInputException($"{path}: is a folder; expected the name of a file to write");
        var dir = Path.GetDirectoryName(full)!;
        if (File.Exists(dir))
            throw new PoNetInputException($"{path}: {dir} is a file, not a folder");
        Directory.CreateDirectory(dir);
        RemoveStaleTemporaries(full);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (IOException e) when (DiskFull.Is(e))
        {
            throw new DiskFullException(full, e);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s =>
        {
            using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false), leaveOpen: true);
            w.Write(text);
        });

    [GeneratedRegex(@"^\.(?<name>.+)\.(?<pid>\d+)\.[0-9a-f]{32}\.tmp$")]
    private static partial Regex TemporaryName();

    /// <summary>
    /// Deletes the temp files in <paramref name="target"/>'s folder left by killed writers: those
    /// whose process id no longer runs (a live writer's file is never touched). Returns how many.
    /// </summary>
    public static int RemoveStaleTemporaries(string target)
    {
        var full = Path.GetFullPath(target);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) return 0;
        int removed = 0;
        foreach (var candidate in Directory.EnumerateFiles(dir, ".*.tmp"))
        {
            var match = TemporaryName().Match(Path.GetFileName(candidate));
            if (!match.Success) continue;
            // A live writer's file (this process's included) is in flight, not stale.
            if (!int.TryParse(match.Groups["pid"].Value, out var pid) || pid == Environment.ProcessId || ProcessRuns(pid)) continue;
            try
            {
                File.Delete(candidate);
                removed++;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return removed;
    }

    static bool ProcessRuns(int pid)
    {
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
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

/// <summary>The file system is full (or over quota): an environment failure, not bad input.</summary>
public sealed class DiskFullException(string path, IOException inner)
    : IOException($"{path}: no space left on the device (nothing was replaced; free space and run again)", inner)
{
    public string Path { get; } = path;
}

/// <summary>Recognises ENOSPC / EDQUOT (and their Windows equivalents) in an <see cref="IOException"/>.</summary>
public static class DiskFull
{
    const int ENOSPC = 28, EDQUOT = 122, ERROR_DISK_FULL = 0x70, ERROR_HANDLE_DISK_FULL = 0x27;

    public static bool Is(Exception e) => e is DiskFullException
        || e is IOException io && (OperatingSystem.IsWindows()
            ? (io.HResult & 0xFFFF) is ERROR_DISK_FULL or ERROR_HANDLE_DISK_FULL
            : io.HResult is ENOSPC or EDQUOT)
        || e.Message.Contains("No space left on device", StringComparison.Ordinal)
        || e.Message.Contains("Disk quota exceeded", StringComparison.Ordinal);
}
