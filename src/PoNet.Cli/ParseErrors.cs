using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;

namespace PoNet.Cli;

/// <summary>
/// The parser's errors as one line a user can act on: the option and the value that is wrong and
/// what was expected, a "did you mean" for a mistyped option or command, the command list when none
/// was given.
/// </summary>
internal static partial class ParseErrors
{
    [GeneratedRegex(@"^Cannot parse argument '(?<value>.*)' for (option|command) '(?<name>[^']*)' as expected type '(?<type>[^']*)'")]
    private static partial Regex ConversionError();

    [GeneratedRegex(@"^Unrecognized command or argument '(?<token>.*)'")]
    private static partial Regex UnknownToken();

    public static string Describe(ParseResult parse, RootCommand root)
    {
        var command = parse.CommandResult.Command;
        // The first mistyped name explains the rest (a misspelt option makes its value an unknown
        // argument, a misspelt command leaves none given): report that one.
        var first = parse.Errors.FirstOrDefault(e => UnknownToken().IsMatch(e.Message)) ?? parse.Errors[0];
        return Describe(first.Message, command, root);
    }

    static string Describe(string message, Command command, RootCommand root)
    {
        if (command == root && message.StartsWith("Required command was not provided", StringComparison.Ordinal))
            return $"a command is required: {string.Join(", ", root.Subcommands.Select(c => c.Name))} (ponet COMMAND --help for its options)";
        var conversion = ConversionError().Match(message);
        if (conversion.Success)
            return $"{conversion.Groups["name"].Value}: '{conversion.Groups["value"].Value}' is not {Expected(conversion.Groups["type"].Value)}";
        var unknown = UnknownToken().Match(message);
        if (unknown.Success)
        {
            var token = unknown.Groups["token"].Value;
            bool isOption = token.StartsWith('-');
            var candidates = isOption
                ? command.Options.SelectMany(o => o.Aliases.Prepend(o.Name))
                : command.Subcommands.Select(c => c.Name);
            var name = isOption ? token.Split('=')[0] : token;
            var best = candidates.Select(c => (c, d: Distance(name, c))).OrderBy(p => p.d).FirstOrDefault();
            var where = command == root ? "ponet" : $"ponet {string.Join(' ', Path(command).Select(c => c.Name))}";
            var what = isOption ? "option" : command.Subcommands.Count > 0 ? "command" : "argument";
            var hint = best.c is not null && best.d <= Math.Max(2, name.Length / 3) ? $"; did you mean '{best.c}'?"
                : what == "command" ? $"; commands: {string.Join(", ", command.Subcommands.Select(c => c.Name))}"
                : $"; see {where} --help";
            return $"unknown {what} '{token}' for {where}{hint}";
        }
        return message.ReplaceLineEndings(" ");
    }

    static IEnumerable<Command> Path(Command command)
    {
        var chain = new List<Command>();
        for (Symbol? s = command; s is Command c && s is not RootCommand; s = c.Parents.FirstOrDefault()) chain.Insert(0, c);
        return chain;
    }

    static string Expected(string type)
    {
        var inner = Regex.Match(type, @"Nullable`1\[(?<t>[^\]]+)\]") is { Success: true } m ? m.Groups["t"].Value : type;
        return inner switch
        {
            "System.Int32" or "System.Int64" or "System.Int16" => "an integer",
            "System.UInt32" or "System.UInt64" => "a non-negative integer",
            "System.Double" or "System.Single" or "System.Decimal" => "a number",
            "System.Boolean" => "true or false",
            _ => $"a valid {inner.Split('.').Last()}",
        };
    }

    /// <summary>Levenshtein distance: how many single-character edits turn one name into the other.</summary>
    static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
