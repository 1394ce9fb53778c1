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
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            Console.Error.WriteLine($"ponet: {ParseErrors.Describe(parse, root)}");
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
    ];
}
