using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using PoNet.Model.Mixers;

namespace PoNet.Model;

/// <summary>A batch for the encoder. All int64 [B,N]; <see cref="SegmentIds"/> optional (derived from [CLS]/[SEP] when null).</summary>
public sealed record PoNetInputs(Tensor InputIds, Tensor? AttentionMask = null, Tensor? TokenTypeIds = null, Tensor? SegmentIds = null)
{
    public PoNetTrace? Trace { get; init; }
}

public sealed record PoNetModelOutput(Tensor LastHiddenState, Tensor? PoolerOutput);

/// <summary>
/// LayerNorm(word[ids] + position[0..N−1] + token_type[tt]), then (FNet only) the Linear
/// <c>projection</c>, then dropout (docs/MODEL.md §3).
/// </summary>
public sealed class PoNetEmbeddings : Module<Tensor, Tensor, Tensor>
{
    readonly Embedding word_embeddings, position_embeddings, token_type_embeddings;
    readonly LayerNorm LayerNorm;
    readonly Linear? projection;
    readonly SeededDropout dropout;

    public PoNetEmbeddings(PoNetConfig config) : base("embeddings")
    {
        word_embeddings = Embedding(config.VocabSize, config.HiddenSize, padding_idx: config.PadTokenId);
        position_embeddings = Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        token_type_embeddings = Embedding(config.TypeVocabSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        if (config.Family.EmbeddingProjection) projection = Linear(config.HiddenSize, config.HiddenSize);
        dropout = new SeededDropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    public Parameter WordEmbeddings => word_embeddings.weight!;

    public override Tensor forward(Tensor inputIds, Tensor tokenTypeIds)
    {
        using var scope = NewDisposeScope();
        var positions = arange(inputIds.shape[1], dtype: ScalarType.Int64, device: inputIds.device);
        var x = word_embeddings.forward(inputIds) + position_embeddings.forward(positions) + token_type_embeddings.forward(tokenTypeIds);
        var normed = LayerNorm.forward(x);
        return dropout.forward(projection is null ? normed : projection.Forward(normed)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// attention.output and output: projection, dropout, residual, post-LayerNorm. FNet's
/// fourier.output has no projection and no dropout: LayerNorm(x + mixed).
/// </summary>
public sealed class PoNetSelfOutput : Module<Tensor, Tensor, Tensor>
{
    readonly Linear? dense;
    readonly LayerNorm LayerNorm;
    readonly SeededDropout? dropout;

    public PoNetSelfOutput(PoNetConfig config, int inputSize, bool hasDense = true) : base("output")
    {
        if (hasDense) dense = Linear(inputSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        if (hasDense) dropout = new SeededDropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor residual)
    {
        using var scope = NewDisposeScope();
        var h = dense is null ? hidden : dropout!.forward(dense.Forward(hidden));
        return LayerNorm.forward(h + residual).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The mixing sub-block of a layer: <c>self</c>, any <see cref="TokenMixer"/> (PoNet's pooling, BERT's
/// attention, FNet's Fourier transform), then <c>output</c>. Registered as "attention" (PoNet, BERT)
/// or "fourier" (FNet).
/// </summary>
public sealed class PoNetAttention : Module<Tensor, MixerContext, Tensor>
{
    readonly TokenMixer @self;
    readonly PoNetSelfOutput output;

    public PoNetAttention(PoNetConfig config) : base(config.Family.MixerBlock)
    {
        @self = TokenMixer.Create(config.MixerSpec);
        output = new PoNetSelfOutput(config, config.HiddenSize, config.Family.MixerOutputDense);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, MixerContext ctx)
    {
        using var mixed = @self.forward(x, ctx);
        return output.forward(mixed, x);
    }
}

public sealed class PoNetIntermediate : Module<Tensor, Tensor>
{
    readonly Linear dense;

    readonly string activation;

    public PoNetIntermediate(PoNetConfig config) : base("intermediate")
    {
        dense = Linear(config.HiddenSize, config.IntermediateSize);
        activation = config.HiddenAct;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var h = dense.Forward(x);
        return Activations.Apply(activation, h);
    }
}

public sealed class PoNetLayer : Module<Tensor, MixerContext, Tensor>
{
    // The mixing block's key is the family's: "attention" (PoNet, BERT) or "fourier" (FNet); the other
    // field is null and so not registered (a field registers under its own name, wherever else it is registered).
    readonly PoNetAttention? attention, fourier;
    readonly PoNetIntermediate intermediate;
    readonly PoNetSelfOutput output;

    public PoNetLayer(PoNetConfig config) : base("layer")
    {
        var mixing = new PoNetAttention(config);
        if (config.Family.MixerBlock == "fourier") fourier = mixing;
        else attention = mixing;
        intermediate = new PoNetIntermediate(config);
        output = new PoNetSelfOutput(config, config.IntermediateSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, MixerContext ctx)
    {
        using var scope = NewDisposeScope();
        var a = (attention ?? fourier)!.forward(x, ctx);
        return output.forward(intermediate.forward(a), a).MoveToOuterDisposeScope();
    }
}

public sealed class PoNetEncoder : Module<Tensor, MixerContext, Tensor>
{
    readonly ModuleList<PoNetLayer> layer;

    public PoNetEncoder(PoNetConfig config) : base("encoder")
    {
        layer = new ModuleList<PoNetLayer>(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new PoNetLayer(config)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, MixerContext ctx)
    {
        using var scope = NewDisposeScope();
        ctx.Trace?.HiddenStates.Add(x.detach().clone().DetachFromDisposeScope());
        foreach (var l in layer)
        {
            x = l.forward(x, ctx);
            ctx.Trace?.HiddenStates.Add(x.detach().clone().DetachFromDisposeScope());
        }
        return x.MoveToOuterDisposeScope();
    }
}

public sealed class PoNetPooler : Module<Tensor, Tensor>
{
    readonly Linear dense;

    public PoNetPooler(PoNetConfig config) : base("pooler")
    {
        dense = Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        return dense.Forward(hidden[.., 0]).tanh().MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The base model in HuggingFace layout (docs/MODEL.md §3, §8, §9): embeddings, post-LayerNorm layers
/// around the family's token mixer, pooler. PoNet, BERT or FNet by <see cref="PoNetConfig.ModelType"/>;
/// state-dict prefix <c>ponet.</c>, <c>bert.</c> or <c>fnet.</c> inside the task models.
/// </summary>
public sealed class PoNetModel : Module<PoNetInputs, PoNetModelOutput>
{
    readonly PoNetEmbeddings embeddings;
    readonly PoNetEncoder encoder;
    readonly PoNetPooler? pooler;

    public PoNetConfig Config { get; }

    public PoNetModel(PoNetConfig config, bool addPoolingLayer = true) : base(config.Family.Prefix)
    {
        config.Validate();
        Config = config;
        embeddings = new PoNetEmbeddings(config);
        encoder = new PoNetEncoder(config);
        if (addPoolingLayer) pooler = new PoNetPooler(config);
        RegisterComponents();
    }

    public PoNetEmbeddings Embeddings => embeddings;

    public override PoNetModelOutput forward(PoNetInputs inputs)
    {
        using var scope = NewDisposeScope();
        var ids = inputs.InputIds;
        if (ids.dim() != 2) throw new ArgumentException($"input_ids must be [batch, length], got [{string.Join(", ", ids.shape)}]");
        long b = ids.shape[0], n = ids.shape[1];
        if (n > Config.MaxPositionEmbeddings)
            throw new PoNetInputException($"sequence length {n} exceeds max_position_embeddings = {Config.MaxPositionEmbeddings}");
        var mask = inputs.AttentionMask ?? ones_like(ids);
        var tokenTypes = inputs.TokenTypeIds ?? zeros_like(ids);

        var spec = Config.MixerSpec;
        var rawSegments = inputs.SegmentIds ?? Segments.FromSpecialTokens(ids, Config.ClsTokenId, Config.SepTokenId);
        var segments = Segments.Compact(rawSegments, validate: inputs.SegmentIds is not null);
        long numSegments = n == 0 ? 1 : segments.max().item<long>() + 1;
        var ctx = MixerContext.FromValid(mask.ne(0), new SegmentIds(segments, numSegments)) with
        {
            Special = spec.ClsGSepG ? Segments.SpecialMask(ids, Config.ClsTokenId, Config.SepTokenId).ne(0).unsqueeze(-1) : null,
            Trace = inputs.Trace,
        };

        var hidden = encoder.forward(embeddings.forward(ids, tokenTypes), ctx);
        var pooled = pooler?.forward(hidden);
        return new PoNetModelOutput(hidden.MoveToOuterDisposeScope(), pooled?.MoveToOuterDisposeScope());
    }

    /// <summary>HF BERT initialisation (<see cref="ParameterInit"/> with N(0, initializer_range)), then the pad row of the word embeddings 0.</summary>
    public static void InitWeights(Module module, PoNetConfig config)
    {
        ParameterInit.Apply(module, LinearInit.Normal, config.InitializerRange);
        using var _ = no_grad();
        foreach (var m in module.named_modules().Select(p => p.module).Prepend(module))
            if (m is PoNetModel inner) inner.embeddings.WordEmbeddings[config.PadTokenId].zero_();
    }
}

/// <summary>The activations config.json's <c>hidden_act</c> can name.</summary>
public static class Activations
{
    /// <summary>"gelu": exact erf GELU (HF's and the PoNet reference's); "gelu_new": HF's tanh approximation.</summary>
    public static Tensor Apply(string name, Tensor x)
    {
        switch (name)
        {
            case "gelu": return functional.gelu(x);
            case "gelu_new":
                using (var scope = NewDisposeScope())
                {
                    var inner = (x + x.pow(3) * 0.044715) * Math.Sqrt(2 / Math.PI);
                    return (x * 0.5 * (inner.tanh() + 1)).MoveToOuterDisposeScope();
                }
            default: throw new ArgumentException($"unsupported hidden_act '{name}'");
        }
    }
}
