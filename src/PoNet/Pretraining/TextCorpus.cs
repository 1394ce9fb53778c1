namespace PoNet.Pretraining;

/// <summary>
/// A folder (or a single file) of plain text read as a stream of documents: a blank line or the end of
/// a file ends a document. Files are read one at a time, in ordinal order of their relative paths, so
/// the order of documents — and with it every example built from them — does not depend on the file
/// system. Hidden files and folders (name starting with '.') are skipped.
/// </summary>
public sealed class TextCorpus
{
    public TextCorpus(string path)
    {
        Path = path;
        if (File.Exists(path))
            Files = [path];
        else if (Directory.Exists(path))
            Files = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                .Where(f => !System.IO.Path.GetRelativePath(path, f).Split(System.IO.Path.DirectorySeparatorChar).Any(p => p.StartsWith('.')))
                .OrderBy(f => System.IO.Path.GetRelativePath(path, f), StringComparer.Ordinal)
                .ToList();
        else
            throw new PoNetInputException($"{path}: no such file or folder; expected a folder of text files");
        if (Files.Count == 0)
            throw new PoNetInputException($"{path}: the folder has no files; expected text files (documents separated by blank lines)");
    }

    public string Path { get; }
    public IReadOnlyList<string> Files { get; }

    /// <summary>Each document's text: its lines joined by '\n'. Documents of whitespace only are skipped.</summary>
    public IEnumerable<string> Documents()
    {
        var lines = new List<string>();
        foreach (var file in Files)
        {
            foreach (var line in File.ReadLines(file))
            {
                if (string.IsNullOrWhiteSpace(line))
                {
                    if (lines.Count > 0) yield return string.Join('\n', lines);
                    lines.Clear();
                }
                else
                {
                    lines.Add(line);
                }
            }
            if (lines.Count > 0) yield return string.Join('\n', lines);
            lines.Clear();
        }
    }
}
