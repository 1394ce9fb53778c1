namespace PoNet;

/// <summary>
/// Bad input from the user: a file, key, tensor or value that is not what was expected. The message
/// names what was wrong and where (file, line, key) so the CLI can print it as one line and exit 2.
/// </summary>
public class PoNetInputException : Exception
{
    public PoNetInputException(string message) : base(message) { }
    public PoNetInputException(string message, Exception inner) : base(message, inner) { }

    /// <summary>An error located at a line of a text file (1-based).</summary>
    public static PoNetInputException AtLine(string file, long line, string message) =>
        new($"{file}:{line}: {message}");
}
