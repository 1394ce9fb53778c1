using System.Text;
using PoNet.IO;

namespace PoNet.Lra.Data;

/// <summary>
/// The official ListOps files: <c>basic_train.tsv</c>, <c>basic_val.tsv</c>, <c>basic_test.tsv</c>,
/// UTF-8, a header <c>Source\tTarget</c>, then one expression per line: the parenthesised source
/// (<see cref="ListOpsExpression.ToSource"/>), a tab, the value 0..9. Reading drops the parentheses
/// and maps the rest through <see cref="ListOpsVocabulary"/>.
/// </summary>
public static class ListOpsTsv
{
    public const string TrainFile = "basic_train.tsv";
    public const string DevFile = "basic_val.tsv";
    public const string TestFile = "basic_test.tsv";
    public const string Header = "Source\tTarget";

    /// <summary>Writes the three files into <paramref name="folder"/>, each atomically.</summary>
    public static void Write(string folder, LraSplit<LraExample> split)
    {
        WriteFile(Path.Combine(folder, TrainFile), split.Train);
        WriteFile(Path.Combine(folder, DevFile), split.Dev);
        WriteFile(Path.Combine(folder, TestFile), split.Test);
    }

    public static void WriteFile(string path, IEnumerable<LraExample> examples) =>
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
            writer.WriteLine(Header);
            foreach (var example in examples)
            {
                writer.Write(ListOpsExpression.ToSource(example.Tokens));
                writer.Write('\t');
                writer.WriteLine(example.Label);
            }
        });

    /// <summary>Reads the three official files from <paramref name="folder"/>.</summary>
    public static LraSplit<LraExample> Read(string folder) =>
        new(ReadFile(Path.Combine(folder, TrainFile)),
            ReadFile(Path.Combine(folder, DevFile)),
            ReadFile(Path.Combine(folder, TestFile)));

    public static List<LraExample> ReadFile(string path)
    {
        if (!File.Exists(path))
            throw new PoNetInputException($"{path}: no such ListOps file (expected {TrainFile}, {DevFile}, {TestFile} with a header '{Escape(Header)}')");
        StrictUtf8.Check(path);
        var examples = new List<LraExample>();
        long lineNumber = 0;
        var tokens = new List<int>(ListOpsGenerator.MaxLength);
        using var reader = new StreamReader(path, new UTF8Encoding(false, throwOnInvalidBytes: true));
        while (true)
        {
            string? line;
            try
            {
                line = reader.ReadLine();
            }
            catch (DecoderFallbackException)
            {
                throw PoNetInputException.AtLine(path, lineNumber + 1, "invalid UTF-8");
            }
            if (line is null) break;
            lineNumber++;
            if (lineNumber == 1)
            {
                if (line.TrimStart('\uFEFF') != Header)
                    throw PoNetInputException.AtLine(path, 1, $"expected the header '{Escape(Header)}', found '{Shorten(line)}'");
                continue;
            }
            if (line.Length == 0)
                continue;
            int tab = line.IndexOf('\t');
            if (tab < 0 || line.IndexOf('\t', tab + 1) >= 0)
                throw PoNetInputException.AtLine(path, lineNumber, $"expected 2 tab-separated columns (Source, Target), found {line.Count(c => c == '\t') + 1}");
            var target = line.AsSpan(tab + 1).Trim();
            if (target.Length != 1 || !char.IsAsciiDigit(target[0]))
                throw PoNetInputException.AtLine(path, lineNumber, $"expected a label 0-9 in the Target column, found '{Shorten(target.ToString())}'");

            tokens.Clear();
            var source = line.AsSpan(0, tab);
            foreach (var range in source.Split(' '))
            {
                var token = source[range];
                if (token.Length == 0 || token is "(" or ")")
                    continue;
                if (!ListOpsVocabulary.TryGetId(token, out int id))
                    throw PoNetInputException.AtLine(path, lineNumber, $"unknown token '{Shorten(token.ToString())}' (expected 0-9, [MIN, [MAX, [MED, [SM, ], or parentheses)");
                tokens.Add(id);
            }
            if (tokens.Count == 0)
                throw PoNetInputException.AtLine(path, lineNumber, "expected an expression in the Source column, found none");
            examples.Add(new LraExample(tokens.ToArray(), target[0] - '0'));
        }
        if (lineNumber == 0)
            throw PoNetInputException.AtLine(path, 1, $"the file is empty (expected the header '{Escape(Header)}')");
        if (examples.Count == 0)
            throw PoNetInputException.AtLine(path, lineNumber, "the header but no expressions: expected at least one 'Source<tab>Target' line");
        return examples;
    }

    private static string Escape(string text) => text.Replace("\t", "\\t");

    private static string Shorten(string text) => Escape(text.Length <= 40 ? text : text[..40] + "...");
}
