using System.CommandLine;
using PoNet.Model.Mixers;
using PoNet.Cli.Plots;
using PoNet.IO;
using PoNet.Lra;
using PoNet.Runtime;

namespace PoNet.Cli.Commands;

/// <summary>
/// <c>ponet lra suite</c>: the paper's Table 1, every task × mixer, one ordinary LRA run per cell in
/// OUT/TASK-MIXER: finished cells (same settings) are skipped, interrupted ones resumed. After every
/// cell table.md, table.json and table.png are rewritten, so a stopped suite still has its table.
/// </summary>
internal static class LraSuiteCommand
{
    public const string Name = "lra-suite";

    public static Command Create()
    {
        var budget = new Option<string>("--budget")
        {
            Description = "cpu: a reduced budget that finishes all 15 cells on a 2-core CPU in about 5-6 hours (see docs/MODEL.md §6 and `LraSuite.Budget`); paper: the paper's settings",
            DefaultValueFactory = _ => "cpu",
        };
        budget.AcceptOnlyFromAmong([.. LraSuite.Budgets]);
        var tasks = new Option<string>("--tasks") { Description = "Comma-separated tasks", DefaultValueFactory = _ => string.Join(",", LraSuite.Tasks) };
        var mixers = new Option<string>("--mixers") { Description = "Comma-separated mixers", DefaultValueFactory = _ => string.Join(",", EnumNames.All<MixerKind>()) };
        var output = new Option<string>("--out") { Description = "Suite folder: one run folder per cell, table.md, table.json, table.png", DefaultValueFactory = _ => Path.Combine("runs", "lra-suite") };
        var data = new Option<string[]>("--data") { Description = "TASK=FOLDER: the data of a task (e.g. image=path/to/cifar-10-batches-bin); default: each task's default source", AllowMultipleArgumentsPerToken = true };
        var steps = new Option<int?>("--steps") { Description = "Every cell trains this many steps instead of the budget's (warm-up 10 %, five evaluations): a quick look at the whole grid" };
        var threads = ThreadsOption.Create();
        var lowMemory = LowMemoryOption.Create();
        var tableOnly = new Option<bool>("--table-only")
        {
            Description = "Write table.md, table.json and table.png from the cells in --out as they are, and train nothing " +
                          "(e.g. while cells run in other processes, or for results copied from elsewhere)",
        };
        // A command of its own (`ponet lra-suite`); Program turns `ponet lra suite …` into it, so its
        // help shows its own options rather than those of `ponet lra TASK`.
        var command = new Command(Name, "Train and test every LRA task × mixer (the paper's Table 1), resumable; writes table.md, table.json and table.png.");
        foreach (var option in new Option[] { budget, tasks, mixers, output, data, steps, threads, lowMemory, tableOnly }) command.Options.Add(option);
        command.SetAction(parse => ExitCodes.Run(() =>
        {
            NativeMemory.KeepFreedMemory();
            ThreadsOption.Apply(parse, threads);
            PoolingFusion.Enabled = parse.GetValue(lowMemory);
            var b = parse.GetValue(budget)!;
            var outDir = parse.GetValue(output)!;
            var taskList = Split(parse.GetValue(tasks)!).Select(t => t.ToLowerInvariant()).ToList();
            foreach (var t in taskList)
                if (!LraSuite.Tasks.Contains(t)) throw new PoNetInputException($"--tasks {t}: expected some of {string.Join(", ", LraSuite.Tasks)}");
            var mixerList = Split(parse.GetValue(mixers)!).Select(m => EnumNames.Parse<MixerKind>(m, "--mixers")).ToList();
            var dataDirs = new Dictionary<string, string>();
            foreach (var entry in parse.GetValue(data) ?? [])
            {
                var parts = entry.Split('=', 2);
                if (parts.Length != 2 || !LraSuite.Tasks.Contains(parts[0])) throw new PoNetInputException($"--data {entry}: expected TASK=FOLDER with TASK one of {string.Join(", ", LraSuite.Tasks)}");
                dataDirs[parts[0]] = parts[1];
            }
            Directory.CreateDirectory(outDir);
            var stepCount = parse.GetValue(steps);
            if (stepCount is < 1) throw new PoNetInputException($"--steps {stepCount}: expected >= 1");
            LraConfig Config(string task, MixerKind mixer)
            {
                var config = LraSuite.Budget(b, task, mixer);
                return stepCount is { } n ? (config with { Steps = n, Warmup = n / 10, EvalEvery = Math.Max(1, n / 5) }).Validate() : config;
            }

            List<LraSuiteCell> Cells() => [.. taskList.SelectMany(t => mixerList.Select(m => LraSuiteCell.Read(outDir, t, m, Config(t, m))))];
            void WriteTable()
            {
                var cells = Cells();
                LraSuiteTable.Write(outDir, b, cells);
                SuitePlot.SavePng(cells, $"LRA test accuracy, budget {b}: ours vs the paper", Path.Combine(outDir, LraSuite.TablePng));
            }
            WriteTable();
            if (parse.GetValue(tableOnly))
            {
                Console.WriteLine(File.ReadAllText(Path.Combine(outDir, LraSuite.TableMarkdown)));
                return ExitCodes.Ok;
            }
            foreach (var task in taskList)
            {
                LraSplits? splits = null; // loaded once per task, for the cells that still need it
                foreach (var mixer in mixerList)
                {
                    var config = Config(task, mixer);
                    var cell = LraSuiteCell.Read(outDir, task, mixer, config);
                    Console.Error.WriteLine($"ponet: suite cell {task} × {EnumNames.Of(mixer)}: {cell.Status}");
                    if (cell.Status == "finished") continue;
                    splits ??= LraCommand.Loaders[task](dataDirs.GetValueOrDefault(task), config);
                    using var trainer = cell.Status == "interrupted" ? LraTrainer.Resume(cell.Folder, splits) : LraTrainer.Start(config, splits, cell.Folder);
                    int code = LraCommand.Train(trainer, splits);
                    WriteTable();
                    if (code != ExitCodes.Ok)
                    {
                        if (code == TrainingRun.Interrupted)
                            Console.Error.WriteLine($"ponet: the suite continues with: ponet lra suite --budget {b} --out {outDir} (finished cells are skipped, this one resumes)");
                        return code;
                    }
                }
            }
            Console.WriteLine(File.ReadAllText(Path.Combine(outDir, LraSuite.TableMarkdown)));
            return ExitCodes.Ok;
        }));
        return command;
    }

    static IEnumerable<string> Split(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
