using System.Text;
using System.Text.Json;

namespace PoNet.FineTuning;

public enum TableFormat { Tsv, Csv, Jsonl }

/// <summary>One record of a table: the 1-based line it starts on and its fields by column name.</summary>
public sealed record TableRow(long Line, IReadOnlyDictionary<string, string?> Fields);

/// <summary>
/// Task data as tables. TSV is read as GLUE writes it and HF's GLUE loader reads it: one record per
/// line, fields split at tabs, no quoting (quote characters are text). CSV follows RFC 4180: fields
/// in double quotes may hold commas, line breaks and doubled quotes (""). JSONL has one object per
/// line; strings are taken as they are, other values by their JSON text (so a label 1 reads "1").
/// TSV and CSV have a header row unless <c>header</c> is false; the columns are then named 0, 1, ….
/// Blank lines are skipped. Every error names the file and line.
/// </summary>
public static class TextTable
{
    /// <summary>Invalid UTF-8 is an error naming the line, never silently replaced by U+FFFD.</summary>
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    static StreamReader Open(string path) => new(path, StrictUtf8, detectEncodingFromByteOrderMarks: true);

    static string? ReadLine(StreamReader reader, string path, long lineNumber)
    {
        try
        {
            return reader.ReadLine();
        }
        catch (DecoderFallbackException)
        {
            throw PoNetInputException.AtLine(path, lineNumber, "invalid UTF-8; expected a UTF-8 text file");
        }
    }

    static int Read(StreamReader reader, string path, long lineNumber, bool peek = false)
    {
        try
        {
            return peek ? reader.Peek() : reader.Read();
        }
        catch (DecoderFallbackException)
        {
            throw PoNetInputException.AtLine(path, lineNumber, "invalid UTF-8; expected a UTF-8 text file");
        }
    }

    public static TableFormat FormatOf(string path, string? format = null)
    {
        var name = (format ?? Path.GetExtension(path).TrimStart('.')).ToLowerInvariant();
        return name switch
        {
            "tsv" or "tab" => TableFormat.Tsv,
            "csv" => TableFormat.Csv,
            "jsonl" or "json" or "ndjson" => TableFormat.Jsonl,
            _ => throw new PoNetInputException(format is null
                ? $"{path}: cannot tell the format from the extension '{Path.GetExtension(path)}'; expected .tsv, .csv or .jsonl, or pass --format"
                : $"--format {format}: expected tsv, csv or jsonl"),
        };
    }

    public static IEnumerable<TableRow> Read(string path, TableFormat format, bool header = true)
    {
        if (!File.Exists(path)) throw new PoNetInputException($"{path}: no such file");
        PoNet.IO.StrictUtf8.Check(path);
        return format == TableFormat.Jsonl ? ReadJsonl(path) : ReadDelimited(path, format, header);
    }

    /// <summary>The column names of a TSV/CSV header (or 0..n−1 without one), null for JSONL.</summary>
    public static IReadOnlyList<string>? Columns(string path, TableFormat format, bool header = true)
    {
        if (format == TableFormat.Jsonl) return null;
        if (!File.Exists(path)) throw new PoNetInputException($"{path}: no such file");
        using var reader = Open(path);
        var first = Records(reader, path, format).FirstOrDefault();
        if (first.Fields is null) throw new PoNetInputException($"{path}: the file is empty; expected {(header ? "a header row and " : "")}records");
        return header ? first.Fields : first.Fields.Select((_, i) => i.ToString()).ToList();
    }

    static IEnumerable<TableRow> ReadDelimited(string path, TableFormat format, bool header)
    {
        using var reader = Open(path);
        List<string>? names = null;
        bool any = false;
        foreach (var (line, fields) in Records(reader, path, format))
        {
            if (names is null)
            {
                names = header ? fields : fields.Select((_, i) => i.ToString()).ToList();
                if (header)
                {
                    var duplicate = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
                    if (duplicate is not null)
                        throw PoNetInputException.AtLine(path, line, $"the header names column '{duplicate.Key}' twice");
                    continue;
                }
            }
            if (fields.Count != names.Count)
                throw PoNetInputException.AtLine(path, line,
                    $"{fields.Count} field{(fields.Count == 1 ? "" : "s")}, expected {names.Count}" +
                    (header ? $" as in the header ({string.Join(", ", names)})" : " as in the first record") +
                    (format == TableFormat.Tsv ? "; TSV fields are separated by tabs and cannot contain one" : ""));
            any = true;
            yield return new TableRow(line, names.Zip(fields).ToDictionary(p => p.First, p => (string?)p.Second));
        }
        if (names is null) throw new PoNetInputException($"{path}: the file is empty; expected {(header ? "a header row and " : "")}records");
        if (!any) throw PoNetInputException.AtLine(path, 1, "a header but no records");
    }

    /// <summary>Records with the line each starts on. TSV: lines split at tabs. CSV: RFC 4180.</summary>
    static IEnumerable<(long Line, List<string> Fields)> Records(StreamReader reader, string path, TableFormat format)
    {
        long lineNumber = 0;
        if (format == TableFormat.Tsv)
        {
            while (ReadLine(reader, path, lineNumber + 1) is { } line)
            {
                lineNumber++;
                if (line.Length == 0) continue;
                yield return (lineNumber, line.Split('\t').ToList());
            }
            yield break;
        }

        lineNumber = 1;
        var fields = new List<string>();
        var field = new StringBuilder();
        long recordLine = 1;
        bool inQuotes = false, quoted = false, recordStarted = false;
        while (true)
        {
            int c = Read(reader, path, lineNumber);
            if (c < 0)
            {
                if (inQuotes) throw PoNetInputException.AtLine(path, recordLine, "a quoted field is never closed (a missing '\"')");
                if (recordStarted)
                {
                    fields.Add(field.ToString());
                    yield return (recordLine, fields);
                }
                yield break;
            }
            char ch = (char)c;
            if (inQuotes)
            {
                if (ch == '"')
                {
                    if (Read(reader, path, lineNumber, peek: true) == '"')
                    {
                        reader.Read();
                        field.Append('"');
                    }
                    else
                        inQuotes = false;
                }
                else
                {
                    if (ch == '\n') lineNumber++;
                    field.Append(ch);
                }
                continue;
            }
            if (ch is '\r' or '\n')
            {
                if (ch == '\r' && Read(reader, path, lineNumber, peek: true) == '\n') reader.Read();
                if (recordStarted)
                {
                    fields.Add(field.ToString());
                    yield return (recordLine, fields);
                }
                fields = [];
                field.Clear();
                quoted = recordStarted = false;
                lineNumber++;
                recordLine = lineNumber;
                continue;
            }
            if (quoted && ch != ',')
                throw PoNetInputException.AtLine(path, lineNumber, $"'{ch}' after a closing quote; a quoted field must end at a ',' or the end of the line (write \"\" for a quote inside it)");
            recordStarted = true;
            if (ch == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
                quoted = false;
            }
            else if (ch == '"' && field.Length == 0)
            {
                inQuotes = quoted = true;
            }
            else
            {
                field.Append(ch);
            }
        }
    }

    static IEnumerable<TableRow> ReadJsonl(string path)
    {
        long lineNumber = 0;
        bool any = false;
        using var reader = Open(path);
        while (ReadLine(reader, path, lineNumber + 1) is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            Dictionary<string, string?> fields;
            try
            {
                using var document = JsonDocument.Parse(line);
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                    throw PoNetInputException.AtLine(path, lineNumber, $"a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}; expected one object per line");
                fields = document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString(),
                    JsonValueKind.Null => null,
                    _ => p.Value.GetRawText(),
                });
            }
            catch (ArgumentException e)
            {
                throw PoNetInputException.AtLine(path, lineNumber, $"a key appears twice in the object ({e.Message})");
            }
            catch (InvalidOperationException)
            {
                throw PoNetInputException.AtLine(path, lineNumber,
                    "a string escape that is not valid UTF-16 (a lone surrogate such as \\ud800); expected text");
            }
            catch (JsonException e)
            {
                throw PoNetInputException.AtLine(path, lineNumber, $"not valid JSON ({e.Message.Split(" LineNumber")[0].Trim()}); expected one object per line");
            }
            any = true;
            yield return new TableRow(lineNumber, fields);
        }
        if (!any) throw new PoNetInputException($"{path}: the file has no records; expected one JSON object per line");
    }
}
