using PoNet.Tokenization;

namespace PoNet.Tests.Tokenization;

/// <summary>The bert-base-uncased vocabulary shipped in Data/, loaded once for all tokenizer tests.</summary>
internal static class TokenizerTestData
{
    public static string VocabPath { get; } =
        Path.Combine(AppContext.BaseDirectory, "Data", "bert-base-uncased-vocab.txt");

    public static string GoldenPath { get; } =
        Path.Combine(AppContext.BaseDirectory, "Data", "bert-base-uncased-golden.jsonl");

    private static readonly Lazy<BertTokenizer> LazyUncased = new(() => BertTokenizer.Load(VocabPath));

    public static BertTokenizer Uncased => LazyUncased.Value;

    /// <summary>The ids of tokens given as strings, each of which must be in the vocabulary.</summary>
    public static int[] Ids(params string[] tokens)
    {
        foreach (string token in tokens)
            Xunit.Assert.True(Uncased.TokenToId(token) != Uncased.UnkId || token == "[UNK]", $"'{token}' is not in the vocabulary");
        return Uncased.ConvertTokensToIds(tokens);
    }

    /// <summary>A scratch folder removed on dispose.</summary>
    public sealed class TempFolder : IDisposable
    {
        public string Path { get; } = TestTemp.Dir("ponet-tok-");

        public string File(string name, string contents)
        {
            string path = System.IO.Path.Combine(Path, name);
            System.IO.File.WriteAllText(path, contents);
            return path;
        }

        public string Combine(string name) => System.IO.Path.Combine(Path, name);

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
