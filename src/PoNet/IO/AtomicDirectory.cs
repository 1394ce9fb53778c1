using System.Runtime.InteropServices;

namespace PoNet.IO;

/// <summary>
/// Folder-level counterpart of <see cref="AtomicFile"/>: a model folder is several files that must
/// change together, so it is written complete beside the target and then put in place at once. On
/// Linux an existing folder is swapped with the new one by one renameat2(RENAME_EXCHANGE), so at
/// every instant the path holds either the complete old folder or the complete new one; elsewhere
/// (or on a file system without the exchange) the old folder is first renamed to <c>{name}.old</c>,
/// which <see cref="Resolve"/> finds. Temporaries of killed writes are removed by the next write.
/// </summary>
public static partial class AtomicDirectory
{
    public static void Write(string path, Action<string> write)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        var name = Path.GetFileName(full);
        foreach (var stale in Directory.EnumerateDirectories(parent, $".{name}.*.tmp")) Directory.Delete(stale, recursive: true);
        var tmp = Path.Combine(parent, $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        var old = full + ".old";
        try
        {
            Directory.CreateDirectory(tmp);
            write(tmp);
            if (Directory.Exists(full) && Exchange(tmp, full))
                return; // tmp now holds the old folder; the finally removes it
            if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
            if (Directory.Exists(full)) Directory.Move(full, old);
            Directory.Move(tmp, full);
            if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        }
        finally
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        }
    }

    /// <summary>The folder written by <see cref="Write"/>, or its previous version when a two-rename swap was interrupted; null when neither exists.</summary>
    public static string? Resolve(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        if (Directory.Exists(full)) return full;
        return Directory.Exists(full + ".old") ? full + ".old" : null;
    }

    const int AtFdCwd = -100;
    const uint RenameExchange = 2;

    [LibraryImport("libc", EntryPoint = "renameat2", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int RenameAt2(int oldDirFd, string oldPath, int newDirFd, string newPath, uint flags);

    /// <summary>Atomically swaps two existing paths; false where the OS or file system cannot.</summary>
    static bool Exchange(string a, string b)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return RenameAt2(AtFdCwd, a, AtFdCwd, b, RenameExchange) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }
}
