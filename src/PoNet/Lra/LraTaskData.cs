using PoNet.Lra.Data;

namespace PoNet.Lra;

/// <summary>
/// Where each LRA task's examples come from: a folder the user gives (the official files), or else
/// data made or fetched into the cache on first use (ListOps and Pathfinder are generated; IMDb,
/// Fashion-MNIST and a text corpus come through <see cref="DataFetch"/>).
/// </summary>
public static class LraTaskData
{
    public const long DataSeed = 1234;

    /// <summary>Loads train/dev/test for <paramref name="config"/>'s task; logs what it did through <paramref name="log"/>.</summary>
    public static LraSplits Load(LraConfig config, string? dataDir, string cacheDir, Action<string> log)
    {
        var progress = new Progress<string>(log);
        var task = config.Task.ToLowerInvariant();
        if (dataDir is not null)
        {
            // IMDb may be one reviews.json file; every other task reads a folder.
            bool fileAllowed = task == "text";
            if (!Directory.Exists(dataDir) && !(fileAllowed && File.Exists(dataDir)))
                throw new PoNetInputException(File.Exists(dataDir)
                    ? $"{dataDir}: --data is a file; the {task} task reads a folder"
                    : $"{dataDir}: --data names no existing {(fileAllowed ? "file or folder" : "folder")}");
        }
        switch (task)
        {
            case "listops":
            {
                var folder = dataDir ?? Path.Combine(cacheDir, $"listops-96000-2000-2000-seed{DataSeed}");
                if (dataDir is null && !File.Exists(Path.Combine(folder, "basic_test.tsv")))
                {
                    log($"generating ListOps (96k/2k/2k, seed {DataSeed}) into {folder} (once)");
                    ListOpsTsv.Write(folder, ListOpsGenerator.Generate(96_000, 2_000, 2_000, DataSeed));
                }
                return Singles(ListOpsTsv.Read(folder), config, "ListOps", folder, log);
            }
            case "text":
            {
                // FetchImdb returns the reviews.json path itself; Read takes that, its folder or aclImdb.
                var split = ImdbReader.Read(dataDir ?? new DataFetch(cacheDir, progress).FetchImdb());
                return Singles(split, config, "IMDb", dataDir ?? cacheDir, log);
            }
            case "image":
            {
                var split = dataDir is not null && (HasFiles(dataDir, "*batch*.bin") || HasFiles(Path.Combine(dataDir, "cifar-10-batches-bin"), "*batch*.bin"))
                    ? Cifar10Reader.ReadFolder(dataDir)
                    : MnistReader.ReadFolder(dataDir ?? new DataFetch(cacheDir, progress).FetchFashionMnist());
                return Singles(ShiftPixels(split), config, dataDir is null ? "Fashion-MNIST (grey stand-in for CIFAR-10)" : "images", dataDir ?? cacheDir, log);
            }
            case "pathfinder":
            {
                var folder = dataDir ?? Path.Combine(cacheDir, $"pathfinder32-200000-seed{DataSeed}");
                if (dataDir is null && !File.Exists(Path.Combine(folder, "pathfinder-labels-idx1-ubyte")))
                {
                    log($"generating Pathfinder-32 (200k images, seed {DataSeed}) into {folder} (once, a few minutes)");
                    new PathfinderGenerator().Generate(200_000, DataSeed, progress).Save(folder);
                }
                return Singles(ShiftPixels(PathfinderDataset.Load(folder).ToSplit()), config, "Pathfinder-32", folder, log);
            }
            case "retrieval":
            {
                var split = dataDir is not null && Directory.GetFiles(dataDir, "*.tsv").Length > 0
                    ? AanReader.ReadFolder(dataDir)
                    : SourceDocumentPairs.Build(dataDir ?? new DataFetch(cacheDir, progress).FetchCorpus(), new SourceDocumentPairOptions(), DataSeed);
                log($"retrieval pairs: {split.Train.Count}/{split.Dev.Count}/{split.Test.Count}" +
                    (dataDir is null ? " (same-source-document stand-in for AAN, from a local corpus)" : ""));
                foreach (var (name, count) in new[] { ("train", split.Train.Count), ("dev", split.Dev.Count), ("test", split.Test.Count) })
                    if (count == 0) throw new PoNetInputException($"{dataDir ?? cacheDir}: the retrieval {name} split is empty");
                LogTruncation(split.Truncated, split.Train.Concat(split.Dev).Concat(split.Test).Sum(p => (p.Tokens1.Length > config.MaxLength ? 1 : 0) + (p.Tokens2.Length > config.MaxLength ? 1 : 0)), config, log);
                CheckLabels(split.Train.Select(p => p.Label), config, "train");
                return new LraSplits(
                    new LraPairListDataset(split.Train.Select(p => (p.Tokens1, p.Tokens2, p.Label)).ToList(), "train"),
                    new LraPairListDataset(split.Dev.Select(p => (p.Tokens1, p.Tokens2, p.Label)).ToList(), "dev"),
                    new LraPairListDataset(split.Test.Select(p => (p.Tokens1, p.Tokens2, p.Label)).ToList(), "test"));
            }
            default:
                throw new PoNetInputException($"unknown LRA task '{config.Task}'");
        }
    }

    static bool HasFiles(string folder, string pattern) => Directory.Exists(folder) && Directory.GetFiles(folder, pattern).Length > 0;

    /// <summary>Pixel value v becomes token v + 1, so token 0 stays padding as in every other task.</summary>
    static LraSplit<LraExample> ShiftPixels(LraSplit<LraExample> split)
    {
        static IReadOnlyList<LraExample> Shift(IReadOnlyList<LraExample> list) =>
            list.Select(e => new LraExample(Array.ConvertAll(e.Tokens, t => t + 1), e.Label)).ToList();
        var train = Shift(split.Train);
        var test = Shift(split.Test);
        var dev = ReferenceEquals(split.Dev, split.Test) ? test : Shift(split.Dev);
        return new LraSplit<LraExample>(train, dev, test) { Truncated = split.Truncated };
    }

    static LraSplits Singles(LraSplit<LraExample> split, LraConfig config, string what, string source, Action<string> log)
    {
        foreach (var (name, list) in new[] { ("train", split.Train), ("dev", split.Dev), ("test", split.Test) })
            if (list.Count == 0) throw new PoNetInputException($"{source}: the {what} {name} split is empty");
        log($"{what}: train/dev/test {split.Train.Count}/{split.Dev.Count}/{split.Test.Count}" +
            (ReferenceEquals(split.Dev, split.Test) ? " (no dev set: dev is the test set, as in LRA)" : ""));
        int longer = split.Train.Concat(split.Dev).Concat(split.Test).Count(e => e.Tokens.Length > config.MaxLength);
        LogTruncation(split.Truncated, longer, config, log);
        CheckLabels(split.Train.Select(e => e.Label), config, "train");
        CheckLabels(split.Test.Select(e => e.Label), config, "test");
        var vocab = split.Train.Max(e => e.Tokens.Length == 0 ? 0 : e.Tokens.Max());
        if (vocab >= config.VocabSize)
            throw new PoNetInputException($"{what}: token id {vocab} does not fit --vocab {config.VocabSize}");
        return new LraSplits(
            new LraListDataset(split.Train.Select(e => (e.Tokens, e.Label)).ToList(), "train"),
            new LraListDataset(split.Dev.Select(e => (e.Tokens, e.Label)).ToList(), "dev"),
            new LraListDataset(split.Test.Select(e => (e.Tokens, e.Label)).ToList(), "test"));
    }

    static void LogTruncation(int byReader, int byLength, LraConfig config, Action<string> log)
    {
        if (byReader > 0) log($"truncated {byReader} sequences to the reader's maximum");
        if (byLength > 0) log($"truncated {byLength} sequences to --max-length {config.MaxLength}");
    }

    static void CheckLabels(IEnumerable<int> labels, LraConfig config, string split)
    {
        foreach (var label in labels)
            if (label < 0 || label >= config.Classes)
                throw new PoNetInputException($"{split} split: label {label} is outside 0..{config.Classes - 1} ({config.Classes} classes)");
    }
}
