using PoNet.FineTuning;
using Xunit;

namespace PoNet.Tests.Transfer;

public class TextTableTests
{
    static string Write(string name, string contents)
    {
        var path = Path.Combine(TransferTestData.Temp("ponet-table-"), name);
        File.WriteAllText(path, contents);
        return path;
    }

    static PoNetInputException Error(Action action) => Assert.Throws<PoNetInputException>(action);

    [Fact]
    public void GlueTsvIsReadAsItIsQuotesIncluded()
    {
        // SST-2 style; MRPC-style header with spaces and '#', and a UTF-8 BOM as in MRPC's train.tsv.
        var sst = Write("train.tsv", "sentence\tlabel\nit 's a \"charming\" film \t1\n\nno , no , no\t0\n");
        var examples = new TextColumns("sentence", Label: "label").Read(sst);
        Assert.Equal(["it 's a \"charming\" film ", "no , no , no"], examples.Select(e => e.Text));
        Assert.Equal(["1", "0"], examples.Select(e => e.Label));
        Assert.Equal([2L, 4L], examples.Select(e => e.Line));

        var mrpc = Write("dev.tsv", "\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t7\t8\tHe said.\tHe spoke.\n");
        var pair = new TextColumns("#1 String", "#2 String", "Quality").Read(mrpc).Single();
        Assert.Equal(("He said.", "He spoke.", "1"), (pair.Text, pair.TextPair, pair.Label));
    }

    [Fact]
    public void TsvWithoutHeaderNamesColumnsByIndex()
    {
        // CoLA's train.tsv: source, label, original label, sentence
        var cola = Write("cola.tsv", "gj04\t1\t\tOur friends won't buy this analysis.\ngj04\t0\t*\tThey drank the pub.\n");
        var examples = new TextColumns("3", Label: "1").Read(cola, header: false);
        Assert.Equal(["Our friends won't buy this analysis.", "They drank the pub."], examples.Select(e => e.Text));
        Assert.Equal(["1", "0"], examples.Select(e => e.Label));
    }

    [Fact]
    public void CsvFollowsRfc4180()
    {
        var csv = Write("data.csv", "text,label\r\n\"a, b\",pos\r\n\"she said \"\"hi\"\"\",neg\r\n\"two\nlines\",pos\r\nplain,neg\r\n");
        var examples = new TextColumns("text", Label: "label").Read(csv);
        Assert.Equal(["a, b", "she said \"hi\"", "two\nlines", "plain"], examples.Select(e => e.Text));
        // Records are numbered by the line they start on; the quoted line break moves the next one down.
        Assert.Equal([2L, 3L, 4L, 6L], examples.Select(e => e.Line));
    }

    [Fact]
    public void MalformedCsvNamesTheLine()
    {
        var unterminated = Write("u.csv", "text,label\nok,1\n\"never closed,1\nmore,0\n");
        Assert.Contains("u.csv:3: a quoted field is never closed", Error(() => new TextColumns("text", Label: "label").Read(unterminated)).Message);
        var trailing = Write("t.csv", "text,label\n\"quoted\"x,1\n");
        Assert.Contains("t.csv:2: 'x' after a closing quote", Error(() => new TextColumns("text", Label: "label").Read(trailing)).Message);
        var ragged = Write("r.csv", "text,label\na,1\nb,1,extra\n");
        Assert.Contains("r.csv:3: 3 fields, expected 2 as in the header (text, label)", Error(() => new TextColumns("text", Label: "label").Read(ragged)).Message);
    }

    [Fact]
    public void JsonlTakesNonStringValuesByTheirJsonText()
    {
        var jsonl = Write("d.jsonl", "{\"text\": \"good\", \"label\": 1}\n\n{\"text\": \"bad\", \"label\": \"neg\", \"score\": 2.5}\n");
        var examples = new TextColumns("text", Label: "label").Read(jsonl);
        Assert.Equal(["1", "neg"], examples.Select(e => e.Label));
        Assert.Equal("2.5", new TextColumns("text", Label: "score").Read(Write("s.jsonl", "{\"text\": \"x\", \"score\": 2.5}\n")).Single().Label);
    }

    [Fact]
    public void ColumnAndRecordErrorsNameFileAndLine()
    {
        var tsv = Write("a.tsv", "sentence\tlabel\nx\t1\n");
        Assert.Contains("a.tsv:1: no column 'text' in the header; the columns are 'sentence', 'label'",
            Error(() => new TextColumns("text", Label: "label").Read(tsv)).Message);
        var jsonl = Write("b.jsonl", "{\"text\": \"x\", \"label\": 1}\n{\"txt\": \"y\", \"label\": 0}\n");
        Assert.Contains("b.jsonl:2: no \"text\" (text); the record has \"txt\", \"label\"", Error(() => new TextColumns("text", Label: "label").Read(jsonl)).Message);
        var broken = Write("c.jsonl", "{\"text\": \"x\", \"label\": 1}\n{\"text\": \"y\", \n");
        Assert.Contains("c.jsonl:2: not valid JSON", Error(() => new TextColumns("text", Label: "label").Read(broken)).Message);
        var array = Write("d.jsonl", "[1, 2]\n");
        Assert.Contains("d.jsonl:1: a JSON array; expected one object per line", Error(() => new TextColumns("text").Read(array)).Message);
        var nullText = Write("e.jsonl", "{\"text\": null}\n");
        Assert.Contains("e.jsonl:1: \"text\" (text) is null", Error(() => new TextColumns("text").Read(nullText)).Message);
    }

    [Fact]
    public void EmptyFilesAreErrors()
    {
        Assert.Contains("the file is empty", Error(() => new TextColumns("text").Read(Write("e.tsv", ""))).Message);
        Assert.Contains("e.csv:1: a header but no records", Error(() => new TextColumns("text").Read(Write("e.csv", "text\n"))).Message);
        Assert.Contains("the file has no records", Error(() => new TextColumns("text").Read(Write("e.jsonl", "\n\n"))).Message);
        Assert.Contains("cannot tell the format", Error(() => new TextColumns("text").Read(Write("e.txt", "x"))).Message);
    }

    [Fact]
    public void LabelSetsSortNumbersAsNumbersAndRejectUnknownLabels()
    {
        Assert.Equal(["-1", "2", "10"], LabelSet.FromTraining(["10", "2", "-1", "2"]).Labels);
        Assert.Equal(["neg", "pos"], LabelSet.FromTraining(["pos", "neg"]).Labels);
        var labels = new LabelSet(["no", "yes"]);
        Assert.Equal(1, labels.IdOf(new TextExample("f.tsv", 3, "t", null, "yes")));
        Assert.Equal("f.tsv:4: label 'maybe' is not in the label set ('no', 'yes') taken from the training data or --labels",
            Error(() => labels.IdOf(new TextExample("f.tsv", 4, "t", null, "maybe"))).Message);
        Assert.Equal(new Dictionary<string, string> { ["0"] = "no", ["1"] = "yes" }, labels.Id2Label());
    }
}
