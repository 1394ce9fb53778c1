using PoNet.IO;

namespace PoNet.Cli.Commands;

/// <summary>The exit codes of every command (README "Bad input: what ponet answers").</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>A bug or an unexpected failure: the stack trace is kept.</summary>
    public const int Failure = 1;
    /// <summary>Usage or data error: one line naming the file, key or line.</summary>
    public const int Usage = 2;
    /// <summary>The environment failed, not the input: the disk (or quota) is full. One line naming the path.</summary>
    public const int DiskFull = 3;

    /// <summary>
    /// Runs a command body and maps bad input to one stderr line and exit code 2, a full disk to one
    /// line and exit code 3. Anything else is a bug and keeps its stack trace.
    /// </summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (PoNetInputException e)
        {
            Console.Error.WriteLine($"ponet: {OneLine(e.Message)}");
            return Usage;
        }
        catch (IOException e) when (PoNet.IO.DiskFull.Is(e))
        {
            Console.Error.WriteLine($"ponet: {OneLine(e is DiskFullException ? e.Message : $"no space left on the device: {e.Message}")}");
            return DiskFull;
        }
    }

    /// <summary>Messages of nested causes (libtorch's, the JSON reader's) may span lines; the answer is one.</summary>
    public static string OneLine(string message) =>
        string.Join(" ", message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
