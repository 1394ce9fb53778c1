namespace PoNet.Lra.Data;

/// <summary>
/// The fixed ListOps vocabulary (16 ids, within the paper's 32): 0 = padding, 1..10 = digits 0..9
/// (id = digit + 1), 11 = <c>[MIN</c>, 12 = <c>[MAX</c>, 13 = <c>[MED</c>, 14 = <c>[SM</c>, 15 = <c>]</c>.
/// Parentheses of the official TSV files are not tokens.
/// </summary>
public static class ListOpsVocabulary
{
    public const int Pad = 0;
    public const int Min = 11;
    public const int Max = 12;
    public const int Med = 13;
    public const int Sum = 14;
    public const int Close = 15;
    public const int Size = 16;

    private static readonly string[] Names =
        ["<pad>", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "[MIN", "[MAX", "[MED", "[SM", "]"];

    public static int Digit(int value) => value + 1;

    public static bool IsDigit(int id) => id is >= 1 and <= 10;

    public static bool IsOperator(int id) => id is >= Min and <= Sum;

    /// <summary>The text of a token as written in the TSV files.</summary>
    public static string NameOf(int id) => Names[id];

    /// <summary>The id of a TSV token (not a parenthesis); false for anything else.</summary>
    public static bool TryGetId(ReadOnlySpan<char> token, out int id)
    {
        id = token switch
        {
            "[MIN" => Min,
            "[MAX" => Max,
            "[MED" => Med,
            "[SM" => Sum,
            "]" => Close,
            _ when token.Length == 1 && char.IsAsciiDigit(token[0]) => Digit(token[0] - '0'),
            _ => -1,
        };
        return id >= 0;
    }
}
