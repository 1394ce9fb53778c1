using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PoNet.Model;

/// <summary>A batch for the encoder. All int64 [B,N]; <see cref="SegmentIds"/> optional (derived from [CLS]/[SEP] when null).</summary>
public sealed record PoNetInputs(Tensor InputIds, Tensor? AttentionMask = null, Tensor? TokenTypeIds = null, Tensor? SegmentIds = null)
{
    public PoNetTrace? Trace { get; init; }
}

public sealed record PoNetModelOutput(Tensor LastHiddenState, Tensor? PoolerOutput);

public sealed class PoNetEmbeddings : Module<Tensor, Tensor, Tensor>
{
    readonly Embedding word_embeddings, position_embeddings, token_type_embeddings;
    readonly LayerNorm LayerNorm;
    readonly SeededDropout dropout;

    public PoNetEmbeddings(PoNetConfig config) : base("embeddings")
    {
        word_embeddings = Embedding(config.VocabSize, config.HiddenSize, padding_idx: config.PadTokenId);
        position_embeddings = Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        token_type_embeddings = Embedding(config.TypeVocabSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropout = new SeededDropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    public Parameter WordEmbeddings => word_embeddings.weight!;

    public override Tensor forward(Tensor inputIds, Tensor tokenTypeIds)
    {
        using var scope = NewDisposeScope();
        var positions = arange(inputIds.shape[1], dtype: ScalarType.Int64, device: inputIds.device);
        var x = word_embeddings.forward(inputIds) + position_embeddings.forward(positions) + token_type_embeddings.forward(tokenTypeIds);
        return dropout.forward(LayerNorm.forward(x)).MoveToOuterDisposeScope();
    }
}

/// <summary>attention.output: projection, dropout, residual, post-LayerNorm.</summary>
public sealed class PoNetSelfOutput : Module<Tensor, Tensor, Tensor>
{
    readonly Linear dense;
    readonly LayerNorm LayerNorm;
    readonly SeededDropout dropout;

    public PoNetSelfOutput(PoNetConfig config, int inputSize) : base("output")
    {
        dense = Linear(inputSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropout = new SeededDropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor residual)
    {
        using var scope = NewDisposeScope();
        return LayerNorm.forward(dropout.forward(dense.Forward(hidden)) + residual).MoveToOuterDisposeScope();
    }
}

public sealed class PoNetAttention : Module<Tensor, MixerContext, Tensor>
{
    readonly MultiGranularityPooling @self;
    readonly PoNetSelfOutput output;

    public PoNetAttention(PoNetConfig config) : base("attention")
    {
        @self = new MultiGranularityPooling(config);
        output = new PoNetSelfOutput(config, config.HiddenSize);
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

    public PoNetIntermediate(PoNetConfig config) : base("intermediate")
    {
        dense = Linear(config.HiddenSize, config.IntermediateSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var h = dense.Forward(x);
        return functional.gelu(h); // exact erf GELU, as the reference
    }
}

public sealed class PoNetLayer : Module<Tensor, MixerContext, Tensor>
{
    readonly PoNetAttention attention;
    readonly PoNetIntermediate intermediate;
    readonly PoNetSelfOutput output;

    public PoNetLayer(PoNetConfig config) : base("layer")
    {
        attention = new PoNetAttention(config);
        intermediate = new PoNetIntermediate(config);
        output = new PoNetSelfOutput(config, config.IntermediateSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, MixerContext ctx)
    {
        using var scope = NewDisposeScope();
        var a = attention.forward(x, ctx);
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

/// <summary>The PoNet encoder (state-dict prefix <c>ponet.</c> inside the task models).</summary>
public sealed class PoNetModel : Module<PoNetInputs, PoNetModelOutput>
{
    readonly PoNetEmbeddings embeddings;
    readonly PoNetEncoder encoder;
    readonly PoNetPooler? pooler;

    public PoNetConfig Config { get; }

    public PoNetModel(PoNetConfig config, bool addPoolingLayer = true) : base("ponet")
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

        var valid = mask.ne(0);
        var floatMask = valid.to(ScalarType.Float32);
        var additive = (1f - floatMask) * -10000f;
        var count = floatMask.sum(1).clamp_min(1f).view(b, 1, 1);
        Tensor? special = Config.ClsGSepG ? Segments.SpecialMask(ids, Config.ClsTokenId, Config.SepTokenId).ne(0).unsqueeze(-1) : null;
        var rawSegments = inputs.SegmentIds ?? Segments.FromSpecialTokens(ids, Config.ClsTokenId, Config.SepTokenId);
        var segments = Segments.Compact(rawSegments, validate: inputs.SegmentIds is not null);
        long numSegments = n == 0 ? 1 : segments.max().item<long>() + 1;
        var ctx = new MixerContext(valid, additive, count, special, segments, numSegments, inputs.Trace);

        var hidden = encoder.forward(embeddings.forward(ids, tokenTypes), ctx);
        var pooled = pooler?.forward(hidden);
        return new PoNetModelOutput(hidden.MoveToOuterDisposeScope(), pooled?.MoveToOuterDisposeScope());
    }

    /// <summary>HF BERT initialisation: Linear/Embedding N(0, initializer_range), biases 0, LayerNorm 1/0, pad row 0.</summary>
    public static void InitWeights(Module module, PoNetConfig config)
    {
        using var _ = no_grad();
        foreach (var (_, m) in module.named_modules())
        {
            switch (m)
            {
                case Linear lin:
                    init.normal_(lin.weight!, 0, config.InitializerRange);
                    if (lin.bias is not null) init.zeros_(lin.bias);
                    break;
                case Embedding emb:
                    init.normal_(emb.weight!, 0, config.InitializerRange);
                    break;
                case LayerNorm ln:
                    init.ones_(ln.weight!);
                    init.zeros_(ln.bias!);
                    break;
            }
        }
        if (module is PoNetModel pm) pm.embeddings.WordEmbeddings[config.PadTokenId].zero_();
        foreach (var (_, m) in module.named_modules())
            if (m is PoNetModel inner) inner.embeddings.WordEmbeddings[config.PadTokenId].zero_();
    }
}
