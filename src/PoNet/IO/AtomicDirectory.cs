namespace PoNet.IO;

/// <summary>
/// Folder-level counterpart of <see cref="AtomicFile"/>: a model folder is several files that must
/// change together, so it is written complete beside the target and then swapped in with two renames.
/// A reader sees either the old folder or the new one; a crash between the renames leaves the old
/// one under <c>{name}.old</c>, which <see cref="Resolve"/> finds.
/// </summary>
public static class AtomicDirectory
{
    public static void Write(string path, Action<string> write)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        var name = Path.GetFileName(full);
        var tmp = Path.Combine(parent, $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        var old = full + ".old";
        try
        {
            Directory.CreateDirectory(tmp);
            write(tmp);
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

    /// <summary>The folder written by <see cref="Write"/>, or its previous version when a swap was interrupted; null when neither exists.</summary>
    public static string? Resolve(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        if (Directory.Exists(full)) return full;
        return Directory.Exists(full + ".old") ? full + ".old" : null;
    }
}
