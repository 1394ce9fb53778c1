namespace PoNet.Cli.Commands;

internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    /// <summary>Usage or data error: the message names the file, key or line.</summary>
    public const int Usage = 2;

    /// <summary>
    /// Runs a command body and maps bad input to one stderr line and exit code 2. Anything else is a
    /// bug or an environment failure and keeps its stack trace.
    /// </summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (PoNetInputException e)
        {
            Console.Error.WriteLine($"ponet: {e.Message}");
            return Usage;
        }
    }
}
