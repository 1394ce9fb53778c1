using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using PoNet.Model;
using PoNet.Model.Mixers;
using PoNet.Randomness;

namespace PoNet.Lra;

/// <summary>Word + learned absolute position embeddings (both N(0, 0.02)), dropout; no LayerNorm, no token types.</summary>
public sealed class LraEmbeddings : Module<Tensor, Tensor>
{
    readonly Embedding word_embeddings, position_embeddings;
    readonly SeededDropout dropout;

    public LraEmbeddings(LraConfig config, DropoutMasks masks) : base("embeddings")
    {
        word_embeddings = Embedding(config.VocabSize, config.Dim);
        position_embeddings = Embedding(config.MaxLength, config.Dim);
        dropout = new SeededDropout(config.Dropout, masks);
        RegisterComponents();
    }

    public override Tensor forward(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var positions = arange(tokens.shape[1], dtype: ScalarType.Int64, device: tokens.device);
        return dropout.forward(word_embeddings.forward(tokens) + position_embeddings.forward(positions)).MoveToOuterDisposeScope();
    }
}

/// <summary>Pre-LayerNorm block: X += Drop(Mix(LN(X))); X += Drop(W2·Drop(GELU(W1·LN(X)))).</summary>
public sealed class LraBlock : Module<Tensor, MixerContext, Tensor>
{
    readonly LayerNorm norm1, norm2;
    readonly TokenMixer mixer;
    readonly Linear ffn1, ffn2;
    readonly SeededDropout dropout;

    public LraBlock(LraConfig config, DropoutMasks masks) : base("block")
    {
        norm1 = LayerNorm(config.Dim);
        mixer = TokenMixer.Create(config.MixerSpec);
        norm2 = LayerNorm(config.Dim);
        ffn1 = Linear(config.Dim, config.Ffn);
        ffn2 = Linear(config.Ffn, config.Dim);
        dropout = new SeededDropout(config.Dropout, masks);
        RegisterComponents();
    }

    public TokenMixer Mixer => mixer;

    public override Tensor forward(Tensor x, MixerContext m)
    {
        using var scope = NewDisposeScope();
        x = x + dropout.forward(mixer.forward(norm1.forward(x), m));
        var h = dropout.forward(functional.gelu(ffn1.forward(norm2.forward(x))));
        return (x + dropout.forward(ffn2.forward(h))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The LRA encoder of docs/MODEL.md §6: embeddings, pre-LN blocks, final LayerNorm, padded positions set to
/// zero. Token id 0 is padding. Output [B,N,D]. Its dropout masks come from
/// <see cref="DropoutMasks"/>; parameters are initialised by torch's global generator unless
/// <see cref="LraModel.ResetParameters"/> is called.
/// </summary>
public sealed class LraEncoder : Module<Tensor, Tensor>
{
    readonly LraEmbeddings embeddings;
    readonly ModuleList<LraBlock> layers;
    readonly LayerNorm norm;

    public LraEncoder(LraConfig config) : base("encoder")
    {
        DropoutMasks = new DropoutMasks(0);
        embeddings = new LraEmbeddings(config, DropoutMasks);
        layers = new ModuleList<LraBlock>(Enumerable.Range(0, config.Layers).Select(_ => new LraBlock(config, DropoutMasks)).ToArray());
        norm = LayerNorm(config.Dim);
        segmentLength = config.SegmentLength;
        RegisterComponents();
        ParameterInit.Apply(this, LinearInit.TorchDefault, EmbeddingStd);
    }

    /// <summary>Embeddings are N(0, 0.02) (docs/MODEL.md §6); Linear layers keep torch's default distribution.</summary>
    internal const double EmbeddingStd = 0.02;

    readonly int segmentLength;

    /// <summary>The source of every dropout mask in the encoder; reseed it before a training step.</summary>
    public DropoutMasks DropoutMasks { get; }

    public IEnumerable<TokenMixer> Mixers => layers.Select(l => l.Mixer);

    public override Tensor forward(Tensor tokens) => forward(tokens, tokens.ne(0));

    /// <summary>With an explicit validity mask [B,N] bool (true = real token) instead of tokens != 0.</summary>
    public Tensor forward(Tensor tokens, Tensor valid)
    {
        using var scope = NewDisposeScope();
        var m = MixerContext.FromValid(valid, new FixedChunkSegments(segmentLength));
        var x = embeddings.forward(tokens);
        foreach (var layer in layers) x = layer.forward(x, m);
        var h = norm.forward(x);
        return m.ZeroPads(h).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A model the trainer can drive: logits [B, classes] for a batch. The single-document classifier
/// and the Retrieval dual encoder both are one; <see cref="Create"/> picks by <see cref="LraConfig.Pair"/>.
/// </summary>
public abstract class LraModel : Module<LraBatch, Tensor>
{
    protected LraModel(string name) : base(name) { }

    public abstract LraEncoder Encoder { get; }

    public static LraModel Create(LraConfig config) =>
        config.Pair ? new LraDualClassifier(config) : new LraClassifier(config);

    /// <summary>
    /// Re-initialises every parameter from <paramref name="generator"/> alone, with torch's default
    /// distributions: Linear weight and bias U(±1/√fan_in) (kaiming_uniform with a = √5), Embedding
    /// N(0, 0.02) (docs/MODEL.md §6), LayerNorm 1 and 0. Modules are visited in registration order.
    /// </summary>
    public void ResetParameters(Generator generator) =>
        ParameterInit.Apply(this, LinearInit.TorchDefault, LraEncoder.EmbeddingStd, generator);

    /// <summary>Mean over all N positions (padding is zero and still counts in N), as the paper's code.</summary>
    protected static Tensor MeanPool(Tensor hidden) => hidden.mean([1]);
}

/// <summary>mean-pool → Linear(D, 128) → ReLU → Linear(128, classes).</summary>
public sealed class LraClassifier : LraModel
{
    readonly LraEncoder encoder;
    readonly Linear dense, classifier;

    public LraClassifier(LraConfig config) : base(nameof(LraClassifier))
    {
        encoder = new LraEncoder(config);
        dense = Linear(config.Dim, config.HeadHidden);
        classifier = Linear(config.HeadHidden, config.Classes);
        RegisterComponents();
    }

    public override LraEncoder Encoder => encoder;

    public override Tensor forward(LraBatch batch)
    {
        using var scope = NewDisposeScope();
        var pooled = MeanPool(encoder.forward(batch.Tokens));
        return classifier.forward(functional.relu(dense.forward(pooled))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Retrieval: one shared encoder on both documents (run as one batch of 2B), u and v mean-pooled,
/// then [u, v, u⊙v, u−v] → Linear(4D, 128) → ReLU → Linear(128, 2).
/// </summary>
public sealed class LraDualClassifier : LraModel
{
    readonly LraEncoder encoder;
    readonly Linear dense, classifier;

    public LraDualClassifier(LraConfig config) : base(nameof(LraDualClassifier))
    {
        encoder = new LraEncoder(config);
        dense = Linear(4 * config.Dim, config.HeadHidden);
        classifier = Linear(config.HeadHidden, config.Classes);
        RegisterComponents();
    }

    public override LraEncoder Encoder => encoder;

    public override Tensor forward(LraBatch batch)
    {
        using var scope = NewDisposeScope();
        if (batch.Tokens2 is null) throw new PoNetInputException("the Retrieval model needs document pairs: the batch has one document per example");
        var both = MeanPool(encoder.forward(cat([batch.Tokens, batch.Tokens2], 0))).chunk(2, 0);
        Tensor u = both[0], v = both[1];
        var features = cat([u, v, u * v, u - v], -1);
        return classifier.forward(functional.relu(dense.forward(features))).MoveToOuterDisposeScope();
    }
}
