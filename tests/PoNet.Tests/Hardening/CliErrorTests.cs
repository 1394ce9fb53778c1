using PoNet.Checkpoints;
using PoNet.Cli.Commands;
using PoNet.IO;
using Xunit;
using static TorchSharp.torch;

namespace PoNet.Tests.Hardening;

/// <summary>The command line's answers to bad input, run in-process: one stderr line, the exit code, nothing written.</summary>
[Collection(nameof(ConsoleRedirection))]
public class CliErrorTests
{
    static (int Code, string Stderr) Run(params string[] args)
    {
        var stderr = new StringWriter();
        var previous = Console.Error;
        Console.SetError(stderr);
        try
        {
            return (Cli.Program.Main(args), stderr.ToString());
        }
        finally
        {
            Console.SetError(previous);
        }
    }

    static void AssertOneLine(int expectedCode, (int Code, string Stderr) result, string expected)
    {
        Assert.Equal(expectedCode, result.Code);
        Assert.Contains(expected, result.Stderr);
        Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", result.Stderr);
    }

    [Fact]
    public void NoCommandListsTheCommands() =>
        AssertOneLine(2, Run(), "a command is required: forward, tokenize, data, lra, lra-suite, bench, pretrain, finetune, glue, fill-mask, classify, embed");

    [Fact]
    public void AValueOfTheWrongTypeNamesTheOptionAndTheValue() =>
        AssertOneLine(2, Run("lra", "listops", "--steps", "ten"), "--steps: 'ten' is not an integer");

    [Fact]
    public void AMistypedOptionGetsADidYouMean() =>
        AssertOneLine(2, Run("lra", "listops", "--step", "10"), "unknown option '--step' for ponet lra; did you mean '--steps'?");

    [Fact]
    public void AMistypedCommandGetsADidYouMean() =>
        AssertOneLine(2, Run("frward"), "unknown command 'frward' for ponet; did you mean 'forward'?");

    [Fact]
    public void EmbedRefusesAnOutputFormatItDoesNotWrite()
    {
        var output = Path.Combine(Bytes.TempDir(), "v.npy");
        AssertOneLine(2, Run("embed", "--model", Golden.Dir("cfgA"), "--input", "x.jsonl", "--output", output), "the extension '.npy' names no format");
        Assert.False(File.Exists(output));
    }

    [Theory]
    [InlineData(0, 5)]
    [InlineData(2, 0)]
    [InlineData(0, 0)]
    public void ForwardRefusesEmptyBatches(int batch, int length)
    {
        var dir = Bytes.TempDir();
        var input = Path.Combine(dir, "in.safetensors");
        SafeTensors.Save(input, new Dictionary<string, Tensor>
        {
            [InputFile.InputIds] = zeros(batch, length, dtype: ScalarType.Int64),
            [InputFile.AttentionMask] = zeros(batch, length, dtype: ScalarType.Int64),
            [InputFile.TokenTypeIds] = zeros(batch, length, dtype: ScalarType.Int64),
        });
        var output = Path.Combine(dir, "out.safetensors");
        AssertOneLine(2, Run("forward", "--model", Golden.Dir("cfgA"), "--inputs", input, "--output", output),
            $"{input}: tensor 'input.input_ids' has shape [{batch}, {length}]: expected at least one sequence of at least one token");
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void ForwardRefusesAnOutputThatIsAFolder()
    {
        var folder = Bytes.TempDir();
        AssertOneLine(2, Run("forward", "--model", Golden.Dir("cfgA"), "--inputs", Golden.Batch("cfgA", "b1"), "--output", folder), "is a folder");
        Assert.Empty(Directory.GetFileSystemEntries(folder));
    }

    [Fact]
    public void ForwardNamesTheFileOfBadSegmentIds()
    {
        var batch = Golden.Read(Golden.Batch("cfgA", "b1"));
        var segments = batch[InputFile.SegmentIds].clone();
        segments[0, 5] = tensor(-1L);
        var dir = Bytes.TempDir();
        var input = Path.Combine(dir, "in.safetensors");
        SafeTensors.Save(input, new Dictionary<string, Tensor>(batch.Where(p => p.Key.StartsWith("input.", StringComparison.Ordinal)))
            { [InputFile.SegmentIds] = segments });
        AssertOneLine(2, Run("forward", "--model", Golden.Dir("cfgA"), "--inputs", input, "--output", Path.Combine(dir, "o.safetensors")),
            $"{input}: input.segment_ids[0, 5] = -1");
    }

    [Theory]
    [InlineData("--max-length", "2000000000", "max length = 2000000000 exceeds the limit 1048576")]
    [InlineData("--dim", "2000000000", "dim = 2000000000 exceeds the limit 65536")]
    [InlineData("--max-length", "1000000", "of memory but")]
    public void LraSizesAreRefusedBeforeAllocation(string option, string value, string expected)
    {
        var output = Path.Combine(Bytes.TempDir(), "run");
        AssertOneLine(2, Run("lra", "synthetic", option, value, "--steps", "1", "--out", output), expected);
    }

    [Fact]
    public void ADiskFullWriteIsOneLineAndExitCode3()
    {
        // /dev/full answers every write with ENOSPC: the exception a full disk raises.
        IOException full;
        try
        {
            using var f = new FileStream("/dev/full", FileMode.Open, FileAccess.Write);
            f.Write(new byte[16]);
            f.Flush();
            throw new InvalidOperationException("/dev/full accepted a write");
        }
        catch (IOException e)
        {
            full = e;
        }
        Assert.True(DiskFull.Is(full));
        var stderr = new StringWriter();
        var previous = Console.Error;
        Console.SetError(stderr);
        int code;
        try
        {
            code = ExitCodes.Run(() => throw new DiskFullException("/data/run/model.safetensors", full));
        }
        finally
        {
            Console.SetError(previous);
        }
        Assert.Equal(ExitCodes.DiskFull, code);
        Assert.Equal("ponet: /data/run/model.safetensors: no space left on the device (nothing was replaced; free space and run again)", stderr.ToString().Trim());
    }
}

[Collection(nameof(ConsoleRedirection))]
public class TokenizeLoneSurrogateTests
{
    [Fact]
    public void TokenizeRefusesALoneSurrogateEscapeAtItsLine()
    {
        var dir = Bytes.TempDir();
        var input = Bytes.Write(dir, "in.jsonl", "{\"text\": \"fine\"}\n{\"text\": \"\\ud800\"}\n");
        var output = Path.Combine(dir, "out.jsonl");
        var stderr = new StringWriter();
        var previous = Console.Error;
        Console.SetError(stderr);
        int code;
        try
        {
            code = Cli.Program.Main(["tokenize", "--vocab", Path.Combine(AppContext.BaseDirectory, "Data", "bert-base-uncased-vocab.txt"),
                "--input", input, "--output", output]);
        }
        finally
        {
            Console.SetError(previous);
        }
        Assert.Equal(2, code);
        Assert.Contains($"{input}:2: a string escape that is not valid UTF-16", stderr.ToString());
        Assert.False(File.Exists(output));
    }
}
