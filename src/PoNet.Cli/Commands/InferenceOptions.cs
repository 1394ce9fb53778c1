using System.CommandLine;
using PoNet.FineTuning;

namespace PoNet.Cli.Commands;

/// <summary>The input options <c>classify</c> and <c>embed</c> share, and their progress display.</summary>
internal sealed class InferenceOptions
{
    /// <summary>Inputs smaller than this finish before a bar would be worth drawing.</summary>
    const int ProgressThreshold = 1000;

    public required Option<string?> Vocab { get; init; }
    public required Option<string> TextColumn { get; init; }
    public required Option<string?> TextPairColumn { get; init; }
    public required Option<string?> Format { get; init; }
    public required Option<bool> NoHeader { get; init; }
    public required Option<int?> MaxLength { get; init; }
    public required Option<int> BatchSize { get; init; }
    public required Option<int?> Threads { get; init; }
    public required Option<string> Runtime { get; init; }
    public required Option<string> ExecutionProvider { get; init; }
    public Option[] All => [Vocab, TextColumn, TextPairColumn, Format, NoHeader, MaxLength, BatchSize, Threads, Runtime, ExecutionProvider];

    public static InferenceOptions Create() => new()
    {
        Vocab = new Option<string?>("--vocab") { Description = "Tokenizer, when the model folder has none" },
        TextColumn = new Option<string>("--text-column") { Description = "Column (header name, JSON key or 0-based index) of the text", DefaultValueFactory = _ => "text" },
        TextPairColumn = new Option<string?>("--text-pair-column") { Description = "Column of the second text (default: text_pair where present)" },
        Format = new Option<string?>("--format") { Description = "tsv, csv or jsonl (default: from the file extension)" },
        NoHeader = new Option<bool>("--no-header") { Description = "TSV/CSV without a header row (columns named by index)" },
        MaxLength = new Option<int?>("--max-length") { Description = "Tokens per text (default: the model's max_position_embeddings)" },
        BatchSize = new Option<int>("--batch-size") { Description = "Texts per forward pass (batched by length)", DefaultValueFactory = _ => 32 },
        Threads = ThreadsOption.Create(),
        Runtime = OnnxRuntimeInference.RuntimeOption(),
        ExecutionProvider = OnnxRuntimeInference.ProviderOption(),
    };

    public List<TextExample> Read(ParseResult parse, string path)
    {
        var pair = parse.GetValue(TextPairColumn);
        return new TextColumns(parse.GetValue(TextColumn)!, pair ?? "text_pair")
            .Read(path, parse.GetValue(Format), !parse.GetValue(NoHeader), optionalPair: pair is null);
    }

    /// <summary>The output is written in the format its extension names, or refused before any work (a .npy is not JSONL).</summary>
    public static void CheckOutputFormat(string path, params string[] extensions)
    {
        if (!extensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
            throw new PoNetInputException(
                $"--output {path}: the extension '{Path.GetExtension(path)}' names no format this command writes; expected {string.Join(", ", extensions)}");
        if (Directory.Exists(path))
            throw new PoNetInputException($"--output {path}: is a folder; expected the name of a file to write");
    }

    /// <summary>Runs with a progress bar on standard error (standard output may carry the results) for large inputs.</summary>
    public static T WithProgress<T>(int count, string title, Func<Action<int>?, T> work)
    {
        if (count < ProgressThreshold) return work(null);
        var console = ConsoleProgress.Console(stderr: true);
        return ConsoleProgress.Run(console, Console.IsErrorRedirected, title, count,
            progress => work(done => progress.Report(done, $"{title}: {done}/{count}")));
    }
}
