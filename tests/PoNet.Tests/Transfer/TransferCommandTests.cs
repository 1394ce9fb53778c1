using System.Text.Json;
using PoNet.Checkpoints;
using PoNet.FineTuning;
using PoNet.Model;
using TorchSharp;
using Xunit;
using static PoNet.Tests.Tokenization.TokenizerTestData;

namespace PoNet.Tests.Transfer;

/// <summary>ponet pretrain / finetune / fill-mask / classify / embed, run in-process through Program.Main.</summary>
[Collection(nameof(ConsoleRedirection))]
public class TransferCommandTests
{
    static (int Code, string Out, string Error) Run(params string[] args) => CliRun.Run(args);

    /// <summary>A randomly initialised tiny PoNet with the BERT vocabulary, saved as a pre-trained model folder.</summary>
    static readonly Lazy<string> TinyModel = new(() =>
    {
        var dir = Path.Combine(TransferTestData.Temp(), "tiny");
        torch.manual_seed(5);
        var model = new PoNetForPreTraining(new PoNetConfig
        {
            VocabSize = 30522, HiddenSize = 16, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 32, MaxPositionEmbeddings = 32,
        });
        ModelFolder.Save(model, VocabPath, dir);
        return dir;
    });

    static readonly string[] Positive = ["good", "great", "excellent", "wonderful"], Negative = ["bad", "awful", "terrible", "horrible"];
    static readonly string[] Filler = ["the", "film", "was", "a", "story", "with", "actors", "and", "music", "plot", "scene", "very", "quite", "really"];

    /// <summary>Sentiment decided by one word among fillers: learnable by a tiny model in a few epochs.</summary>
    static string Sentiment(int count, int seed, int sentences = 1)
    {
        var rng = new Random(seed);
        var path = Path.Combine(TransferTestData.Temp("ponet-task-"), $"data{seed}.jsonl");
        var lines = Enumerable.Range(0, count).Select(i =>
        {
            bool positive = i % 2 == 0;
            var words = Enumerable.Range(0, 6 * sentences).Select(_ => Filler[rng.Next(Filler.Length)]).ToList();
            words.Insert(rng.Next(words.Count), (positive ? Positive : Negative)[rng.Next(4)]);
            var text = string.Join(' ', words.Chunk(7).Select(s => char.ToUpper(s[0][0]) + string.Join(' ', s)[1..] + "."));
            return JsonSerializer.Serialize(new { text, label = positive ? "pos" : "neg" });
        });
        File.WriteAllLines(path, lines);
        return path;
    }

    static JsonElement Json(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement;

    [Fact]
    public void FinetuneThenClassifyAndEmbed()
    {
        string train = Sentiment(240, 1), dev = Sentiment(80, 2), run = TransferTestData.Temp();
        var (code, output, error) = Run("finetune", "--train", train, "--dev", dev, "--init", TinyModel.Value, "--out", run,
            "--epochs", "8", "--batch-size", "16", "--lr", "5e-3");
        Assert.True(code == 0, error);
        Assert.Contains("2-class classification (neg, pos)", output);
        var results = Json(Path.Combine(run, FineTuner.ResultsFile));
        double best = results.GetProperty("best").GetDouble();
        Assert.True(best >= 0.9, $"dev accuracy {best} on a task a tiny model should learn");
        Assert.Equal("accuracy", results.GetProperty("metric").GetString());
        Assert.Equal(8, results.GetProperty("epochs").GetArrayLength());
        var config = PoNetConfig.Load(Path.Combine(run, FineTuner.BestDir, "config.json"));
        Assert.Equal(new Dictionary<string, string> { ["0"] = "neg", ["1"] = "pos" }, config.Id2Label);
        Assert.Equal(new Dictionary<string, int> { ["neg"] = 0, ["pos"] = 1 }, config.Label2Id);
        Assert.True(File.Exists(Path.Combine(run, FineTuner.BestDir, "vocab.txt")));

        // classify: one line per input line, in input order, as accurate as the saved best epoch.
        var predictions = Path.Combine(run, "predictions.jsonl");
        (code, _, error) = Run("classify", "--model", Path.Combine(run, FineTuner.BestDir), "--input", dev, "--output", predictions, "--batch-size", "7");
        Assert.True(code == 0, error);
        var gold = File.ReadAllLines(dev).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("label").GetString()).ToList();
        var lines = File.ReadAllLines(predictions).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(80, lines.Count);
        var labels = lines.Select(l => l.GetProperty("label").GetString()).ToList();
        Assert.Equal(best, labels.Zip(gold).Count(p => p.First == p.Second) / 80.0, 12);
        foreach (var line in lines)
        {
            var p = line.GetProperty("probabilities");
            Assert.Equal(1.0, p.GetProperty("neg").GetDouble() + p.GetProperty("pos").GetDouble(), 6);
        }

        // embed: a [lines, hidden] matrix, or one JSON vector per line.
        var matrix = Path.Combine(run, "embeddings.safetensors");
        (code, _, error) = Run("embed", "--model", Path.Combine(run, FineTuner.BestDir), "--input", dev, "--output", matrix, "--pooling", "mean");
        Assert.True(code == 0, error);
        var embeddings = SafeTensors.Load(matrix)["embeddings"];
        Assert.Equal([80L, 16L], embeddings.shape);
        var jsonl = Path.Combine(run, "embeddings.jsonl");
        (code, _, error) = Run("embed", "--model", Path.Combine(run, FineTuner.BestDir), "--input", dev, "--output", jsonl);
        Assert.True(code == 0, error);
        var cls = File.ReadAllLines(jsonl).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToList();
        Assert.Equal(80, cls.Count);
        Assert.All(cls, v => Assert.Equal(16, v.Length));
        Assert.NotEqual(embeddings[0].data<float>().ToArray(), cls[0]);
    }

    [Fact]
    public void LongDocumentsTileThePositionsAndUseSentenceSegments()
    {
        string train = Sentiment(64, 3, sentences: 8), dev = Sentiment(16, 4, sentences: 8), run = TransferTestData.Temp();
        var (code, output, error) = Run("finetune", "--train", train, "--dev", dev, "--init", TinyModel.Value, "--out", run,
            "--epochs", "1", "--batch-size", "16", "--max-length", "96");
        Assert.True(code == 0, error);
        Assert.Contains("position table tiled from 32 to 96", output);
        var results = Json(Path.Combine(run, FineTuner.ResultsFile));
        Assert.Equal(32, results.GetProperty("positions_tiled_from").GetInt32());
        Assert.True(results.GetProperty("sentence_segments").GetBoolean());
        Assert.True(results.GetProperty("train_tokens_mean").GetDouble() > 32, "the documents are longer than the original table");
        var config = PoNetConfig.Load(Path.Combine(run, FineTuner.BestDir, "config.json"));
        Assert.Equal(96, config.MaxPositionEmbeddings);
        Assert.True(config.SentenceSegments);

        var predictions = Path.Combine(run, "predictions.jsonl");
        (code, _, error) = Run("classify", "--model", Path.Combine(run, FineTuner.BestDir), "--input", dev, "--output", predictions);
        Assert.True(code == 0, error);
        Assert.Equal(16, File.ReadAllLines(predictions).Length);
    }

    [Fact]
    public void FloatScoresMakeARegressionTaskScoredByPearson()
    {
        var dir = TransferTestData.Temp("ponet-sts-");
        var rng = new Random(3);
        string Tsv(string name, int n)
        {
            var path = Path.Combine(dir, name);
            File.WriteAllLines(path, new[] { "index\tsentence1\tsentence2\tscore" }.Concat(Enumerable.Range(0, n).Select(i =>
                $"{i}\tthe {Filler[rng.Next(Filler.Length)]} was good\ta {Filler[rng.Next(Filler.Length)]} was bad\t{rng.Next(0, 50) / 10.0:F3}")));
            return path;
        }
        string train = Tsv("train.tsv", 32), dev = Tsv("dev.tsv", 16), run = Path.Combine(dir, "run");
        var (code, output, error) = Run("finetune", "--train", train, "--dev", dev, "--init", TinyModel.Value, "--out", run,
            "--text-column", "sentence1", "--text-pair-column", "sentence2", "--label-column", "score", "--epochs", "1", "--max-length", "32");
        Assert.True(code == 0, error);
        Assert.Contains("regression", output);
        var results = Json(Path.Combine(run, FineTuner.ResultsFile));
        Assert.Equal("pearson", results.GetProperty("metric").GetString());
        Assert.True(results.GetProperty("epochs")[0].GetProperty("metrics").TryGetProperty("spearman", out _));

        var pairs = Path.Combine(dir, "pairs.jsonl");
        File.WriteAllText(pairs, "{\"text\": \"the film was good\", \"text_pair\": \"a story was bad\"}\n");
        (code, output, error) = Run("classify", "--model", Path.Combine(run, FineTuner.BestDir), "--input", pairs);
        Assert.True(code == 0, error);
        Assert.True(JsonDocument.Parse(output.Trim()).RootElement.TryGetProperty("score", out _), output);
    }

    [Fact]
    public void PretrainWritesItsRunAndTheModelFillsMasks()
    {
        var corpus = TransferTestData.NumberedCorpus(documents: 40, maxSentences: 12);
        var run = TransferTestData.Temp();
        var (code, output, error) = Run("pretrain", "--corpus", corpus, "--vocab", VocabPath, "--out", run, "--layers", "1", "--hidden", "16",
            "--heads", "2", "--ffn", "32", "--max-length", "32", "--steps", "30", "--batch-size", "8", "--lr", "1e-2", "--warmup", "3",
            "--eval-every", "15", "--eval-examples", "16", "--held-out-every", "5", "--shuffle-buffer", "100");
        Assert.True(code == 0, error);
        foreach (var file in new[] { "results.json", "metrics.csv", "curves.png", "model/config.json", "model/model.safetensors", "model/vocab.txt",
                     "checkpoints/latest", "checkpoints/step-000030/optimizer.safetensors", "checkpoints/step-000030/state.json", "checkpoints/step-000030/vocab.txt" })
            Assert.True(File.Exists(Path.Combine(run, file)), file);
        var results = Json(Path.Combine(run, "results.json"));
        double first = results.GetProperty("initial_eval").GetProperty("mlm_loss").GetDouble();
        double last = results.GetProperty("final_eval").GetProperty("mlm_loss").GetDouble();
        Assert.True(last < first - 2, $"held-out MLM loss {first} → {last}");
        Assert.Equal(31, File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length - 1); // step 0 (evaluation only) and 30 steps
        Assert.Contains("MLM loss", output);

        (code, output, error) = Run("fill-mask", "--model", Path.Combine(run, "model"), "--top-k", "3", "--json", "Doc 3 [MASK] 2.");
        Assert.True(code == 0, error);
        var candidates = JsonDocument.Parse(output).RootElement.EnumerateArray().Single().EnumerateArray().ToList();
        Assert.Equal(3, candidates.Count);
        // The corpus's only word in that place is among the model's first three after 30 steps.
        Assert.Contains("sentence", candidates.Select(c => c.GetProperty("token").GetString()));
    }

    public static TheoryData<string, string[], string> BadInputs() => new()
    {
        { "fill-mask without a mask", ["fill-mask", "--model", "{model}", "the film was good"], "the text has no [MASK] token" },
        { "vocab without [MASK]", ["fill-mask", "--model", "{model}", "--vocab", "{nomask}", "a [MASK] b"], "the vocabulary has no [MASK] token" },
        { "merges.txt as a vocabulary", ["fill-mask", "--model", "{model}", "--vocab", "{merges}", "a [MASK] b"], "merges.txt:1: the token 'a b' contains whitespace" },
        { "dev label outside the set", ["finetune", "--train", "{train}", "--dev", "{baddev}", "--init", "{model}", "--out", "{out}"], "baddev.jsonl:2: label 'maybe' is not in the label set" },
        { "malformed JSONL line", ["embed", "--model", "{model}", "--input", "{broken}", "--output", "{out}/p.jsonl"], "broken.jsonl:2: not valid JSON" },
        { "classify without a classifier", ["classify", "--model", "{model}", "--input", "{broken}", "--output", "{out}/p.jsonl"], "has no classifier (classifier.*); fine-tune it first" },
        { "empty input", ["embed", "--model", "{model}", "--input", "{empty}", "--output", "{out}/e.jsonl"], "empty.jsonl: the file has no records" },
        { "unterminated CSV quote", ["embed", "--model", "{model}", "--input", "{badcsv}", "--output", "{out}/e.safetensors"], "bad.csv:3: a quoted field is never closed" },
        { "empty corpus", ["pretrain", "--corpus", "{emptydir}", "--vocab", "{vocab}", "--out", "{out}"], "the folder has no files" },
        { "missing text column", ["finetune", "--train", "{train}", "--dev", "{train}", "--init", "{model}", "--out", "{out}", "--text-column", "sentence"], "no \"sentence\" (text)" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void BadInputExitsWithCode2AndWritesNothing(string what, string[] args, string message)
    {
        var dir = TransferTestData.Temp("ponet-bad-");
        string File_(string name, string text)
        {
            var path = Path.Combine(dir, name);
            File.WriteAllText(path, text);
            return path;
        }
        var vocabLines = File.ReadAllLines(VocabPath);
        var values = new Dictionary<string, string>
        {
            ["{model}"] = TinyModel.Value,
            ["{vocab}"] = VocabPath,
            ["{nomask}"] = File_("nomask.txt", string.Join('\n', vocabLines.Where(l => l != "[MASK]")) + "\n"),
            ["{merges}"] = File_("merges.txt", "a b\nc d\n"),
            ["{train}"] = File_("train.jsonl", "{\"text\": \"good\", \"label\": \"yes\"}\n{\"text\": \"bad\", \"label\": \"no\"}\n"),
            ["{baddev}"] = File_("baddev.jsonl", "{\"text\": \"good\", \"label\": \"yes\"}\n{\"text\": \"meh\", \"label\": \"maybe\"}\n"),
            ["{broken}"] = File_("broken.jsonl", "{\"text\": \"good\"}\n{\"text\": \n"),
            ["{empty}"] = File_("empty.jsonl", ""),
            ["{badcsv}"] = File_("bad.csv", "text\nfine\n\"open,\n"),
            ["{emptydir}"] = Directory.CreateDirectory(Path.Combine(dir, "emptydir")).FullName,
            ["{out}"] = Path.Combine(dir, "out"),
        };
        var (code, _, error) = Run(args.Select(a => values.Aggregate(a, (s, v) => s.Replace(v.Key, v.Value))).ToArray());
        Assert.True(code == 2, $"{what}: exit {code}, stderr: {error}");
        Assert.Contains(message, error);
        Assert.Single(error.Trim().Split('\n'));
        Assert.False(Directory.Exists(values["{out}"]) && Directory.EnumerateFileSystemEntries(values["{out}"], "*", SearchOption.AllDirectories).Any(),
            $"{what}: output written");
    }
}
