using PoNet.Tokenization;
using PoNet.Training;
using PoNet.Randomness;

namespace PoNet.Pretraining;

public enum CorpusSplit { Train, HeldOut }

/// <summary>How pre-training pairs are cut from a corpus (docs/MODEL.md §4); defaults are the paper's.</summary>
public sealed record PretrainingDataOptions
{
    /// <summary>Tokens per example, [CLS] and both [SEP] included; pairs aim at MaxLength − 3 text tokens.</summary>
    public int MaxLength { get; init; } = 512;
    /// <summary>Probability that a document's target length is a random one in [2, MaxLength − 3].</summary>
    public double ShortSequenceProbability { get; init; } = 0.1;
    /// <summary>Passes over the training documents, each with fresh randomness.</summary>
    public int DupeFactor { get; init; } = 5;
    /// <summary>Recent documents kept for "B from another document" (SSO label 2).</summary>
    public int DocumentPoolSize { get; init; } = 1000;
    /// <summary>Examples held back and emitted in random order.</summary>
    public int ShuffleBufferSize { get; init; } = 10_000;
    /// <summary>Every k-th document (the k-th, 2k-th, …) is held out for evaluation; 0 holds out none.</summary>
    public int HeldOutEvery { get; init; } = 100;
    public long Seed { get; init; } = 42;
    /// <summary>
    /// The sentence-level labels the pairs carry: "sso" (PoNet's structural objective: kept, swapped or
    /// replaced, 1/3 each) or "nsp" (BERT's next-sentence prediction: B follows A or comes from another
    /// document, 1/2 each).
    /// </summary>
    public string SentenceObjective { get; init; } = "sso";

    public void Validate()
    {
        if (SentenceObjective is not ("sso" or "nsp")) throw new PoNetInputException($"sentence objective '{SentenceObjective}': expected sso or nsp");
        if (MaxLength < 5) throw new PoNetInputException($"max length {MaxLength}: expected at least 5 ([CLS] A [SEP] B [SEP] with a token each)");
        if (ShortSequenceProbability is < 0 or > 1) throw new PoNetInputException($"short-sequence probability {ShortSequenceProbability}: expected 0..1");
        if (DupeFactor < 1) throw new PoNetInputException($"dupe factor {DupeFactor}: expected >= 1");
        if (DocumentPoolSize < 1) throw new PoNetInputException($"document pool size {DocumentPoolSize}: expected >= 1");
        if (ShuffleBufferSize < 1) throw new PoNetInputException($"shuffle buffer size {ShuffleBufferSize}: expected >= 1");
        if (HeldOutEvery is < 0 or 1) throw new PoNetInputException($"held-out every {HeldOutEvery}: expected 0 (none) or >= 2");
    }
}

/// <summary>
/// Streams MLM + SSO pre-training pairs from a <see cref="TextCorpus"/> without holding the corpus:
/// one document is tokenized at a time, a bounded pool of recent documents supplies the "B from
/// elsewhere" chunks, and a bounded buffer shuffles the output. The stream is a pure function of the
/// corpus, tokenizer and options, so a resumed run regenerates it and skips what it already used.
/// <para>Per document (BERT's create_pretraining_data, with SOP's swap as a third class): pick a
/// target length (MaxLength − 3, or with probability 0.1 a random one in [2, MaxLength − 3]); gather
/// sentences until the target is reached or the document ends; cut the chunk at a random sentence
/// boundary into A and B; with probability 1/3 each keep the order (label 0), swap A and B (1), or
/// replace B by a chunk of another document and put the unused sentences back (2). A one-sentence
/// chunk has no boundary and always takes label 2. The longer side is then cut, one token at a time,
/// from its front or back at random, until the pair fits.</para>
/// </summary>
public sealed class PretrainingExampleStream
{
    readonly TextCorpus corpus;
    readonly BertTokenizer tokenizer;
    readonly CorpusSplit split;

    public PretrainingExampleStream(TextCorpus corpus, BertTokenizer tokenizer, PretrainingDataOptions options, CorpusSplit split)
    {
        options.Validate();
        if (split == CorpusSplit.HeldOut && options.HeldOutEvery == 0)
            throw new PoNetInputException("no held-out documents (held-out every = 0): nothing to evaluate on");
        this.corpus = corpus;
        this.tokenizer = tokenizer;
        Options = options;
        this.split = split;
    }

    public PretrainingDataOptions Options { get; }

    /// <summary>The most documents the pool held at once (never above <see cref="PretrainingDataOptions.DocumentPoolSize"/>).</summary>
    public int PeakDocumentPool { get; private set; }

    /// <summary>The most examples the shuffle buffer held at once.</summary>
    public int PeakShuffleBuffer { get; private set; }

    /// <summary>The examples of the split in shuffled order: DupeFactor passes for training, one pass held out.</summary>
    public IEnumerable<PretrainingExample> Examples()
    {
        int salt = split == CorpusSplit.Train ? 0 : 2;
        return Shuffle(Unshuffled(Seeds.Random(Options.Seed, salt)), Seeds.Random(Options.Seed, salt + 1));
    }

    IEnumerable<PretrainingExample> Shuffle(IEnumerable<PretrainingExample> examples, Random rng)
    {
        var buffer = new List<PretrainingExample>(Math.Min(Options.ShuffleBufferSize, 1 << 16));
        foreach (var example in examples)
        {
            if (buffer.Count < Options.ShuffleBufferSize)
            {
                buffer.Add(example);
                PeakShuffleBuffer = Math.Max(PeakShuffleBuffer, buffer.Count);
                continue;
            }
            int j = rng.Next(buffer.Count);
            yield return buffer[j];
            buffer[j] = example;
        }
        while (buffer.Count > 0)
        {
            int j = rng.Next(buffer.Count);
            yield return buffer[j];
            buffer[j] = buffer[^1];
            buffer.RemoveAt(buffer.Count - 1);
        }
    }

    sealed record PooledDocument(long Id, int IndexInPass, List<int[]> Sentences);

    internal IEnumerable<PretrainingExample> Unshuffled(Random rng)
    {
        var pool = new PooledDocument[Options.DocumentPoolSize];
        int poolCount = 0, poolNext = 0;
        long documentId = 0;
        int passes = split == CorpusSplit.Train ? Options.DupeFactor : 1;
        int k = Options.HeldOutEvery;
        for (int pass = 0; pass < passes; pass++)
        {
            int index = 0;
            foreach (var text in corpus.Documents())
            {
                int indexInPass = index++;
                bool heldOut = k > 0 && indexInPass % k == k - 1;
                if (heldOut != (split == CorpusSplit.HeldOut)) continue;
                var sentences = Sentences(text);
                if (sentences.Count == 0) continue;

                PooledDocument? Other()
                {
                    // BERT retries 10 times to find a document other than the current one.
                    for (int attempt = 0; attempt < 10 && poolCount > 0; attempt++)
                    {
                        var candidate = pool[rng.Next(poolCount)];
                        if (candidate.IndexInPass != indexInPass) return candidate;
                    }
                    return null;
                }
                foreach (var example in FromDocument(sentences, documentId, Other, rng))
                    yield return example;

                pool[poolNext] = new PooledDocument(documentId, indexInPass, sentences);
                poolNext = (poolNext + 1) % pool.Length;
                poolCount = Math.Min(poolCount + 1, pool.Length);
                PeakDocumentPool = Math.Max(PeakDocumentPool, poolCount);
                documentId++;
            }
        }
    }

    List<int[]> Sentences(string text) =>
        SentenceSplitter.Split(text)
            .Select(s => tokenizer.ConvertTokensToIds(tokenizer.Tokenize(s)))
            .Where(ids => ids.Length > 0)
            .ToList();

    IEnumerable<PretrainingExample> FromDocument(List<int[]> document, long documentId, Func<PooledDocument?> other, Random rng)
    {
        int maxTokens = Options.MaxLength - 3;
        int target = rng.NextDouble() < Options.ShortSequenceProbability ? rng.Next(2, maxTokens + 1) : maxTokens;
        var chunk = new List<int[]>();
        int chunkLength = 0;
        for (int i = 0; i < document.Count; i++)
        {
            chunk.Add(document[i]);
            chunkLength += document[i].Length;
            if (i < document.Count - 1 && chunkLength < target) continue;

            int aEnd = chunk.Count >= 2 ? rng.Next(1, chunk.Count) : 1;
            var a = chunk.GetRange(0, aEnd);
            var b = chunk.GetRange(aEnd, chunk.Count - aEnd);
            bool nsp = Options.SentenceObjective == "nsp";
            int label = chunk.Count < 2 ? SsoLabel.Replaced
                : nsp ? (rng.Next(2) == 0 ? SsoLabel.Original : SsoLabel.Replaced)
                : rng.Next(3);
            long? otherId = null;
            bool emit = true;
            if (label == SsoLabel.Replaced)
            {
                if (other() is { } source)
                {
                    int targetB = Math.Max(1, target - a.Sum(s => s.Length));
                    b = [];
                    int length = 0;
                    for (int j = rng.Next(source.Sentences.Count); j < source.Sentences.Count && length < targetB; j++)
                    {
                        b.Add(source.Sentences[j]);
                        length += source.Sentences[j].Length;
                    }
                    otherId = source.Id;
                    i -= chunk.Count - aEnd; // the unused sentences start the next chunk
                }
                else if (chunk.Count >= 2)
                    label = nsp ? SsoLabel.Original : rng.Next(2); // no other document yet (start of the stream): original or swapped
                else
                    emit = false; // a lone sentence with nothing to pair it with
            }
            if (label == SsoLabel.Swapped) (a, b) = (b, a);
            if (emit)
            {
                var (cutA, cutB) = TruncatePair(a, b, maxTokens, rng);
                int emitted = nsp ? (label == SsoLabel.Replaced ? NspLabel.Random : NspLabel.IsNext) : label;
                yield return PretrainingExample.Layout(cutA, cutB, tokenizer.ClsId, tokenizer.SepId, emitted, documentId, otherId);
            }
            chunk.Clear();
            chunkLength = 0;
        }
    }

    /// <summary>
    /// BERT's truncate_seq_pair over sentence lists: while the pair is too long, take a token from the
    /// longer side (B on a tie), from its front or its back with probability 1/2 each. Sentences keep
    /// whatever tokens are left; emptied ones are dropped.
    /// </summary>
    internal static (List<int[]> A, List<int[]> B) TruncatePair(List<int[]> a, List<int[]> b, int maxTokens, Random rng)
    {
        var (idsA, ownersA) = Flatten(a);
        var (idsB, ownersB) = Flatten(b);
        int loA = 0, hiA = idsA.Length, loB = 0, hiB = idsB.Length;
        while (hiA - loA + hiB - loB > maxTokens)
        {
            bool cutA = hiA - loA > hiB - loB;
            bool front = rng.NextDouble() < 0.5;
            if (cutA) { if (front) loA++; else hiA--; }
            else { if (front) loB++; else hiB--; }
        }
        return (Regroup(idsA, ownersA, loA, hiA), Regroup(idsB, ownersB, loB, hiB));
    }

    static (int[] Ids, int[] Owners) Flatten(List<int[]> sentences)
    {
        var ids = new int[sentences.Sum(s => s.Length)];
        var owners = new int[ids.Length];
        int p = 0;
        for (int s = 0; s < sentences.Count; s++)
            foreach (var id in sentences[s])
            {
                ids[p] = id;
                owners[p++] = s;
            }
        return (ids, owners);
    }

    static List<int[]> Regroup(int[] ids, int[] owners, int lo, int hi)
    {
        var sentences = new List<int[]>();
        int start = lo;
        for (int p = lo + 1; p <= hi; p++)
            if (p == hi || owners[p] != owners[p - 1])
            {
                sentences.Add(ids[start..p]);
                start = p;
            }
        return sentences;
    }
}
