using System.Text.Json.Nodes;
using PoNet.Model.Mixers;
using PoNet.Cli;
using PoNet.Lra;
using PoNet.Training;
using Xunit;

namespace PoNet.Tests.Lra;

public class LraSuiteTests
{
    [Fact]
    public void CpuBudgetGivesTheThreeMixersOfATaskTheSameRunAndThePaperBudgetIsTheTable()
    {
        foreach (var task in LraSuite.Tasks)
        {
            var configs = new[] { MixerKind.PoNet, MixerKind.Transformer, MixerKind.FNet }.Select(m => LraSuite.Budget("cpu", task, m)).ToList();
            Assert.Single(configs.Select(c => (c.Steps, c.BatchSize, c.MaxLength, c.LearningRate, c.Warmup, c.EvalEvery, c.EvalExamples)).Distinct());
            Assert.True(configs[0].MaxLength <= 1024, task);
            var paper = LraSuite.Budget("paper", task, MixerKind.PoNet);
            var table = LraTaskDefaults.For(task);
            Assert.Equal((table.Steps, table.BatchSize, table.MaxLength, table.Warmup), (paper.Steps, paper.BatchSize, paper.MaxLength, paper.Warmup));
        }
        Assert.Null(LraSuite.Paper("pathfinder", MixerKind.FNet));
        Assert.Equal(69.82, LraSuite.Paper("text", MixerKind.PoNet));
        Assert.Throws<PoNetInputException>(() => LraSuite.Budget("gpu", "text", MixerKind.PoNet));
    }

    [Fact]
    public void TheTableAveragesFinishedCellsAgainstThePapersSameCells()
    {
        LraSuiteCell Cell(string task, MixerKind m, double? ours) => new()
        {
            Task = task, Mixer = m, Status = ours is null ? "not run" : "finished", Folder = "x", PaperTestAccuracy = LraSuite.Paper(task, m), TestAccuracy = ours,
            Steps = 10, MaxLength = 512,
        };
        var cells = new List<LraSuiteCell> { Cell("listops", MixerKind.FNet, 40), Cell("pathfinder", MixerKind.FNet, 60), Cell("text", MixerKind.FNet, null) };
        var md = LraSuiteTable.Markdown("cpu", cells);
        Assert.Contains("| fnet | 40.00 / 37.40 | 60.00 / fail | not run / 62.52 | 50.00 / 37.40 (2 tasks) |", md);
    }

    [Fact]
    public void TheSuiteRunsEveryCellOnceSkipsFinishedOnesAndResumesInterruptedOnes()
    {
        var data = TestTemp.Dir("ponet-suite-data-");
        Assert.Equal(0, Program.Main(["data", "listops", "--out", data, "--train", "64", "--dev", "16", "--test", "16"]));
        var dir = TestTemp.Dir("ponet-suite-");
        string[] args = ["lra", "suite", "--tasks", "listops", "--mixers", "ponet,fnet", "--steps", "2", "--data", $"listops={data}", "--out", dir];
        Assert.Equal(0, Program.Main(args));
        var table = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, LraSuite.TableJson)))!;
        Assert.All(table["cells"]!.AsArray(), c => Assert.Equal("finished", c!["status"]!.GetValue<string>()));
        Assert.Contains("| ponet |", File.ReadAllText(Path.Combine(dir, LraSuite.TableMarkdown)));
        Assert.True(new FileInfo(Path.Combine(dir, LraSuite.TablePng)).Length > 1000);

        // Finished cells are not trained again; a cell whose results are gone but whose checkpoint is there is resumed, not restarted.
        var ponet = LraSuite.CellFolder(dir, "listops", MixerKind.PoNet);
        var fnetResults = Path.Combine(LraSuite.CellFolder(dir, "listops", MixerKind.FNet), LraTrainer.ResultsFile);
        var before = File.GetLastWriteTimeUtc(fnetResults);
        var bestBefore = JsonNode.Parse(File.ReadAllText(Path.Combine(ponet, LraTrainer.ResultsFile)))!["test_accuracy"]!.GetValue<double>();
        File.Delete(Path.Combine(ponet, LraTrainer.ResultsFile));
        Assert.True(RunCheckpoints.Exists(ponet));
        Assert.Equal(0, Program.Main(args));
        Assert.Equal(before, File.GetLastWriteTimeUtc(fnetResults));
        Assert.Equal(bestBefore, JsonNode.Parse(File.ReadAllText(Path.Combine(ponet, LraTrainer.ResultsFile)))!["test_accuracy"]!.GetValue<double>());
        Assert.Equal(2, Program.Main(["lra", "suite", "--tasks", "listops,nosuch", "--out", dir]));
    }

    /// <summary>
    /// Results copied without their checkpoints (as docs/results/ holds them) are finished cells, and
    /// --table-only writes the table over every task × mixer asked for without training any cell.
    /// </summary>
    [Fact]
    public void TableOnlyReportsCopiedResultsAndTrainsNothing()
    {
        var data = TestTemp.Dir("ponet-suite-data-");
        Assert.Equal(0, Program.Main(["data", "listops", "--out", data, "--train", "64", "--dev", "16", "--test", "16"]));
        var dir = TestTemp.Dir("ponet-suite-");
        Assert.Equal(0, Program.Main(["lra", "suite", "--tasks", "listops", "--mixers", "fnet", "--steps", "2", "--data", $"listops={data}", "--out", dir]));
        var copy = TestTemp.Dir("ponet-suite-copy-");
        var cell = Path.Combine(copy, "listops-fnet");
        Directory.CreateDirectory(cell);
        File.Copy(Path.Combine(LraSuite.CellFolder(dir, "listops", MixerKind.FNet), LraTrainer.ResultsFile), Path.Combine(cell, LraTrainer.ResultsFile));
        Assert.Equal(0, Program.Main(["lra", "suite", "--tasks", "listops", "--mixers", "ponet,fnet", "--steps", "2", "--table-only", "--out", copy]));
        var cells = JsonNode.Parse(File.ReadAllText(Path.Combine(copy, LraSuite.TableJson)))!["cells"]!.AsArray();
        Assert.Equal(["not run", "finished"], cells.Select(c => c!["status"]!.GetValue<string>()));
        Assert.False(Directory.Exists(LraSuite.CellFolder(copy, "listops", MixerKind.PoNet)));
        Assert.False(RunCheckpoints.Exists(cell));
    }
}
