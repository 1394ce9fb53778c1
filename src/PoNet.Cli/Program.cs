using System.CommandLine;
using PoNet.Cli.Commands;

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
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
                Console.Error.WriteLine($"ponet: {error.Message}");
            return ExitCodes.Usage;
        }
        return parse.Invoke();
    }

    /// <summary>Every subcommand; each lives in Commands/ as a static Create().</summary>
    internal static IEnumerable<Command> Commands() =>
    [
        ForwardCommand.Create(),
        TokenizeCommand.Create(),
        DataCommand.Create(),
        LraCommand.Create(),
        BenchCommand.Create(),
        PretrainCommand.Create(),
        FinetuneCommand.Create(),
        FillMaskCommand.Create(),
        ClassifyCommand.Create(),
        EmbedCommand.Create(),
        ExportCommand.Create(),
        OnnxBenchCommand.Create(),
    ];
}
