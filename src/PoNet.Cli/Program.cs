using System.CommandLine;
using PoNet.Cli.Commands;
using PoNet.Runtime;

namespace PoNet.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        try
        {
            NativeRuntime.EnsureLoaded();
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"ponet: {e.Message}");
            return ExitCodes.Failure;
        }
        var root = new RootCommand("PoNet for .NET: pooling-network text encoders (ICLR 2022) in C#.");
        foreach (var command in Commands())
            root.Subcommands.Add(command);
        if (args is ["lra", "suite", ..]) args = [LraSuiteCommand.Name, .. args[2..]];
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            Console.Error.WriteLine($"ponet: {ParseErrors.Describe(parse, root)}");
            return ExitCodes.Usage;
        }
        if (args.Contains("--bf16") && PoNet.Model.ComputePrecision.NativeBFloat16() == false)
            Console.Error.WriteLine("ponet: warning: --bf16 on a CPU without AVX512-BF16 or AMX: libtorch emulates bfloat16 in software, " +
                                    "measured 14× slower than without --bf16 on such a machine");
        // Every command's bad input and full disk end as one line even where a command body does
        // not use ExitCodes.Run itself; anything else is a bug and keeps its stack trace (exit 1).
        try
        {
            return ExitCodes.Run(() => parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"ponet: unexpected error (a bug; please report it with this trace): {e}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>Every subcommand; each lives in Commands/ as a static Create().</summary>
    internal static IEnumerable<Command> Commands() =>
    [
        ForwardCommand.Create(),
        TokenizeCommand.Create(),
        DataCommand.Create(),
        LraCommand.Create(),
        LraSuiteCommand.Create(),
        BenchCommand.Create(),
        PretrainCommand.Create(),
        FinetuneCommand.Create(),
        GlueCommand.Create(),
        FillMaskCommand.Create(),
        ClassifyCommand.Create(),
        EmbedCommand.Create(),
        ExportCommand.Create(),
        OnnxBenchCommand.Create(),
    ];
}
