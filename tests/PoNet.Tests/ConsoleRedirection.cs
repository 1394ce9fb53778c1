using Xunit;

namespace PoNet.Tests;

/// <summary>
/// Tests that run the CLI in-process swap Console.Out and Console.Error, which are global: they run
/// alone, after the parallel ones.
/// </summary>
[CollectionDefinition(nameof(ConsoleRedirection), DisableParallelization = true)]
public class ConsoleRedirection;

/// <summary>Runs the CLI in-process with its output captured (for tests in the <see cref="ConsoleRedirection"/> collection).</summary>
public static class CliRun
{
    public static (int Code, string Out, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        TextWriter originalOut = Console.Out, originalError = Console.Error;
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            return (Cli.Program.Main(args), output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(originalOut);
            Console.SetError(originalError);
        }
    }
}
