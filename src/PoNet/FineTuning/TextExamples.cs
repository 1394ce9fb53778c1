namespace PoNet.FineTuning;

/// <summary>A text (or text pair) with its label as written in the file, and where it came from.</summary>
public sealed record TextExample(string File, long Line, string Text, string? TextPair, string? Label);

/// <summary>Which columns of a table hold the text, the optional second text and the label.</summary>
public sealed record TextColumns(string Text, string? TextPair = null, string? Label = null)
{
    /// <summary>
    /// Reads <paramref name="path"/> and picks the columns from every record. A column is a header
    /// name, or a 0-based index (TSV/CSV) when no header has that name. <paramref name="optionalPair"/>:
    /// the pair column is used only where present (JSONL keys, or TSV/CSV header) instead of being required.
    /// </summary>
    public List<TextExample> Read(string path, string? format = null, bool header = true, bool optionalPair = false)
    {
        var tableFormat = TextTable.FormatOf(path, format);
        var names = TextTable.Columns(path, tableFormat, header);
        string? Resolve(string? column, bool optional)
        {
            if (column is null || names is null || names.Contains(column)) return column;
            if (int.TryParse(column, out int index) && index >= 0 && index < names.Count) return names[index];
            if (optional) return null;
            throw PoNetInputException.AtLine(path, 1,
                $"no column '{column}'{(header ? " in the header" : "")}; the columns are {string.Join(", ", names.Select(n => $"'{n}'"))}");
        }
        var text = Resolve(Text, false)!;
        var pair = Resolve(TextPair, optionalPair);
        var label = Resolve(Label, false);

        var examples = new List<TextExample>();
        foreach (var row in TextTable.Read(path, tableFormat, header))
        {
            string? Field(string? column, string role, bool optional)
            {
                if (column is null) return null;
                if (!row.Fields.TryGetValue(column, out var value))
                {
                    if (optional) return null;
                    throw PoNetInputException.AtLine(path, row.Line,
                        $"no \"{column}\" ({role}); the record has {string.Join(", ", row.Fields.Keys.Select(k => $"\"{k}\""))}");
                }
                if (value is null)
                    throw PoNetInputException.AtLine(path, row.Line, $"\"{column}\" ({role}) is null");
                return value;
            }
            examples.Add(new TextExample(path, row.Line, Field(text, "text", false)!, Field(pair, "text pair", optionalPair),
                Field(label, "label", false)));
        }
        return examples;
    }
}

/// <summary>
/// The classes of a classification task, in id order. From training data they are sorted (as numbers
/// when all are integers, so "0","1","2" and "-1","1" come out in numeric order), or given explicitly.
/// </summary>
public sealed class LabelSet
{
    readonly Dictionary<string, int> ids;

    public LabelSet(IReadOnlyList<string> labels)
    {
        if (labels.Count == 0) throw new PoNetInputException("the label set is empty");
        var duplicate = labels.GroupBy(l => l).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new PoNetInputException($"label '{duplicate.Key}' appears twice in the label set");
        Labels = labels;
        ids = labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i);
    }

    public IReadOnlyList<string> Labels { get; }
    public int Count => Labels.Count;

    public static LabelSet FromTraining(IEnumerable<string> labels)
    {
        var distinct = labels.Distinct().ToList();
        bool integers = distinct.All(l => long.TryParse(l, out _));
        return new LabelSet(integers
            ? distinct.OrderBy(long.Parse).ToList()
            : distinct.OrderBy(l => l, StringComparer.Ordinal).ToList());
    }

    public int IdOf(TextExample example)
    {
        if (example.Label is { } label && ids.TryGetValue(label, out int id)) return id;
        throw PoNetInputException.AtLine(example.File, example.Line,
            $"label '{example.Label}' is not in the label set ({string.Join(", ", Labels.Select(l => $"'{l}'"))})" +
            " taken from the training data or --labels");
    }

    public Dictionary<string, string> Id2Label() => Labels.Select((l, i) => (l, i)).ToDictionary(p => p.i.ToString(), p => p.l);
    public Dictionary<string, int> Label2Id() => new(ids);
}
