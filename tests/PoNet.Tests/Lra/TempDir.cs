namespace PoNet.Tests.Lra;

/// <summary>A fresh folder under the system temp folder, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = TestTemp.Dir("ponet-test-");

    public string Write(string relativePath, string content) =>
        Write(relativePath, System.Text.Encoding.UTF8.GetBytes(content));

    public string Write(string relativePath, byte[] content)
    {
        string path = System.IO.Path.Combine(Path, relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
