using PoNet.Tokenization;

namespace PoNet.Onnx;

/// <summary>A classifier's answer for one text: the label and every label's probability, or a score (regression).</summary>
public sealed record OnnxClassification(string? Label, IReadOnlyDictionary<string, double>? Probabilities, double? Score);

/// <summary>One candidate for a [MASK]: the token, its id and its probability.</summary>
public sealed record OnnxMaskCandidate(string Token, int TokenId, double Score);

/// <summary>The candidates for the [MASK] at <see cref="Position"/> (its index in the encoded ids), best first.</summary>
public sealed record OnnxMaskPrediction(int Position, IReadOnlyList<OnnxMaskCandidate> Candidates);

/// <summary>A text, or a text pair, to encode as [CLS] A [SEP] (B [SEP]).</summary>
public sealed record TextInput(string Text, string? TextPair = null)
{
    public static implicit operator TextInput(string text) => new(text);
}

/// <summary>
/// Texts in, answers out, on ONNX Runtime only: the BERT tokenizer beside the exported model (or
/// given), batches of similar length (sorted, each padded to its longest row), answers in input order.
/// The same encoding as the libtorch commands: truncated to the model's max length, segment ids from
/// [CLS]/[SEP] (or per sentence for long-document models).
/// </summary>
public sealed class PoNetOnnxPipeline : IDisposable
{
    public PoNetOnnxModel Model { get; }
    public BertTokenizer Tokenizer { get; }
    public int MaxLength { get; }

    public PoNetOnnxPipeline(PoNetOnnxModel model, BertTokenizer tokenizer, int? maxLength = null)
    {
        Model = model;
        Tokenizer = tokenizer;
        var info = model.Info;
        if (tokenizer.VocabSize > info.VocabSize)
            throw new PoNetInputException(
                $"{model.Path}: the tokenizer has {tokenizer.VocabSize} tokens but the model's vocab_size is {info.VocabSize}; use the model's own vocabulary");
        if (tokenizer.ClsId != info.ClsTokenId || tokenizer.SepId != info.SepTokenId)
            throw new PoNetInputException(
                $"{model.Path}: the tokenizer's [CLS]/[SEP] ids are {tokenizer.ClsId}/{tokenizer.SepId} but the model's are {info.ClsTokenId}/{info.SepTokenId}; use the model's own vocabulary");
        if (info.SentenceSegments && !model.SegmentIdsAccepted)
            throw new PoNetInputException(
                $"{model.Path}: the model uses sentence segments but was exported with --segment-ids none; export it with --segment-ids optional or required");
        MaxLength = maxLength ?? info.MaxLength;
        if (MaxLength < 3 || MaxLength > info.MaxLength)
            throw new PoNetInputException($"--max-length {MaxLength}: expected 3..{info.MaxLength} (the model's max_position_embeddings)");
    }

    /// <summary>The model at <paramref name="modelPath"/> with the tokenizer beside it, or <paramref name="vocab"/> (vocab.txt, tokenizer.json or a folder).</summary>
    public static PoNetOnnxPipeline Load(string modelPath, string? vocab = null, PoNetOnnxOptions? options = null, int? maxLength = null)
    {
        string tokenizerSource = vocab ?? System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(modelPath))!;
        if (vocab is null && !new[] { "tokenizer.json", "vocab.txt" }.Any(f => File.Exists(System.IO.Path.Combine(tokenizerSource, f))))
            throw new PoNetInputException($"{modelPath}: no vocab.txt or tokenizer.json beside the model; pass --vocab");
        var tokenizer = BertTokenizer.Load(tokenizerSource);
        var model = PoNetOnnxModel.Load(modelPath, options);
        try
        {
            return new PoNetOnnxPipeline(model, tokenizer, maxLength);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public BertEncoding Encode(TextInput input)
    {
        if (!Model.Info.SentenceSegments) return Tokenizer.Encode(input.Text, input.TextPair, MaxLength);
        if (input.TextPair is not null)
            throw new PoNetInputException("sentence segments are for single documents, but the input has a text pair");
        return Tokenizer.EncodeDocument(input.Text, MaxLength);
    }

    /// <summary>Sentence vectors: the last hidden state at [CLS] (<paramref name="pooling"/> "cls") or its mean over the real tokens ("mean").</summary>
    public float[][] Embed(IReadOnlyList<TextInput> texts, string pooling = "cls", int batchSize = 32, Action<int>? progress = null)
    {
        if (pooling is not ("cls" or "mean")) throw new PoNetInputException($"--pooling {pooling}: expected cls or mean");
        int d = Model.Info.HiddenSize;
        var results = new float[texts.Count][];
        RunBatches(texts, batchSize, ["last_hidden_state"], progress, (batch, rows, outputs) =>
        {
            var hidden = outputs["last_hidden_state"].Values;
            int n = batch.Length;
            for (int r = 0; r < rows.Length; r++)
            {
                var v = new float[d];
                if (pooling == "cls") Array.Copy(hidden, (long)r * n * d, v, 0, d);
                else
                {
                    int count = 0;
                    var sum = new double[d];
                    for (int t = 0; t < n; t++)
                    {
                        if (batch.AttentionMask[r * n + t] == 0) continue;
                        count++;
                        long offset = ((long)r * n + t) * d;
                        for (int j = 0; j < d; j++) sum[j] += hidden[offset + j];
                    }
                    for (int j = 0; j < d; j++) v[j] = (float)(sum[j] / Math.Max(count, 1));
                }
                results[rows[r]] = v;
            }
        });
        return results;
    }

    /// <summary>A sequence classifier's label and probabilities per text (softmax; sigmoid for multi-label; the score for regression).</summary>
    public List<OnnxClassification> Classify(IReadOnlyList<TextInput> texts, int batchSize = 32, Action<int>? progress = null)
    {
        var info = Model.Info;
        if (info.Head != "seqcls")
            throw new PoNetInputException($"{Model.Path}: exported with --head {info.Head}; classify needs a sequence-classification export (--head seqcls)");
        var labels = info.Labels.Count > 0 ? info.Labels : ["LABEL_0", "LABEL_1"];
        var results = new OnnxClassification[texts.Count];
        RunBatches(texts, batchSize, ["logits"], progress, (_, rows, outputs) =>
        {
            var logits = outputs["logits"];
            int k = logits.Dims[1];
            for (int r = 0; r < rows.Length; r++)
            {
                var row = logits.Values.AsSpan(r * k, k).ToArray().Select(x => (double)x).ToArray();
                if (info.Regression)
                {
                    results[rows[r]] = new OnnxClassification(null, null, row[0]);
                    continue;
                }
                double[] p = info.MultiLabel ? row.Select(x => 1 / (1 + Math.Exp(-x))).ToArray() : Softmax(row);
                int best = Array.IndexOf(p, p.Max());
                results[rows[r]] = new OnnxClassification(labels[best],
                    labels.Take(k).Select((l, i) => (l, i)).ToDictionary(x => x.l, x => p[x.i]), null);
            }
        });
        return [.. results];
    }

    /// <summary>HF's fill-mask pipeline: the top-k tokens for every [MASK] of the text (encoded as [CLS] text [SEP] (pair [SEP])).</summary>
    public List<OnnxMaskPrediction> FillMask(string text, int topK = 5, string? textPair = null)
    {
        var info = Model.Info;
        if (info.Head is not ("pretraining" or "maskedlm"))
            throw new PoNetInputException($"{Model.Path}: exported with --head {info.Head}; fill-mask needs an MLM export (--head pretraining or maskedlm)");
        if (topK < 1) throw new PoNetInputException($"--top-k {topK}: expected >= 1");
        var encoding = Tokenizer.Encode(text, textPair);
        var positions = Enumerable.Range(0, encoding.Length).Where(i => encoding.InputIds[i] == Tokenizer.MaskId).ToList();
        if (positions.Count == 0)
            throw new PoNetInputException($"the text has no {Tokenizer.Options.MaskToken} token to fill: \"{text}\"{(textPair is null ? "" : $" / \"{textPair}\"")}");
        if (encoding.Length > info.MaxLength)
            throw new PoNetInputException($"the text is {encoding.Length} tokens long; the model takes at most {info.MaxLength}");
        var batch = Collate([encoding], [0]);
        var logits = Model.Run(batch, ["logits"])["logits"];
        int v = logits.Dims[2], usable = Math.Min(Tokenizer.VocabSize, v);
        var predictions = new List<OnnxMaskPrediction>();
        foreach (var position in positions)
        {
            var row = logits.Values.AsSpan(position * v, usable).ToArray().Select(x => (double)x).ToArray();
            var p = Softmax(row);
            var best = Enumerable.Range(0, usable).OrderByDescending(i => p[i]).ThenBy(i => i).Take(Math.Min(topK, usable));
            predictions.Add(new OnnxMaskPrediction(position, best.Select(id => new OnnxMaskCandidate(Tokenizer.IdToToken(id), id, p[id])).ToList()));
        }
        return predictions;
    }

    void RunBatches(IReadOnlyList<TextInput> texts, int batchSize, string[] outputs, Action<int>? progress,
        Action<PoNetOnnxBatch, int[], Dictionary<string, OnnxOutput>> consume)
    {
        if (batchSize < 1) throw new PoNetInputException($"--batch-size {batchSize}: expected >= 1");
        var encodings = texts.Select(Encode).ToList();
        int done = 0;
        // Length bucketing: sorted by length, so each batch pads little.
        foreach (var rows in Enumerable.Range(0, encodings.Count).OrderBy(i => encodings[i].Length).ThenBy(i => i).Chunk(batchSize))
        {
            var batch = Collate(encodings, rows);
            consume(batch, rows, Model.Run(batch, outputs));
            done += rows.Length;
            progress?.Invoke(done);
        }
    }

    /// <summary>Rows padded to the longest (<see cref="PaddedBatch"/>).</summary>
    PoNetOnnxBatch Collate(IReadOnlyList<BertEncoding> encodings, IReadOnlyList<int> rows)
    {
        var b = PaddedBatch.Of(encodings, rows, Tokenizer.PadId);
        // Graphs without a segment_ids input derive the same ids from [CLS]/[SEP].
        return new PoNetOnnxBatch(b.Rows, b.Length, b.InputIds, b.AttentionMask, b.TokenTypeIds, Model.SegmentIdsAccepted ? b.SegmentIds : null);
    }

    static double[] Softmax(double[] logits)
    {
        double max = logits.Max();
        var e = logits.Select(x => Math.Exp(x - max)).ToArray();
        double sum = e.Sum();
        return e.Select(x => x / sum).ToArray();
    }

    public void Dispose() => Model.Dispose();
}
