using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PoNet.Model;

/// <summary>cls.predictions.transform: dense → hidden_act → LayerNorm.</summary>
public sealed class PoNetPredictionHeadTransform : Module<Tensor, Tensor>
{
    readonly Linear dense;
    readonly LayerNorm LayerNorm;
    readonly string activation;

    public PoNetPredictionHeadTransform(PoNetConfig config) : base("transform")
    {
        dense = Linear(config.HiddenSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        activation = config.HiddenAct;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return LayerNorm.forward(Activations.Apply(activation, dense.Forward(x))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// cls.predictions: transform, then a decoder to the vocabulary plus <c>bias</c>. With tied
/// embeddings (the released model) the decoder weight is the word-embedding matrix itself and no
/// decoder module exists; checkpoints' <c>decoder.weight</c>/<c>decoder.bias</c> are aliases.
/// </summary>
public sealed class PoNetLMPredictionHead : Module<Tensor, Tensor>
{
    readonly PoNetPredictionHeadTransform transform;
    readonly Linear? decoder;
    readonly Parameter bias;
    readonly Func<Tensor> tiedWeight;

    public PoNetLMPredictionHead(PoNetConfig config, PoNetEmbeddings embeddings) : base("predictions")
    {
        transform = new PoNetPredictionHeadTransform(config);
        if (!config.TieWordEmbeddings) decoder = Linear(config.HiddenSize, config.VocabSize, hasBias: false);
        bias = Parameter(zeros(config.VocabSize));
        tiedWeight = () => embeddings.WordEmbeddings;
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        var h = transform.forward(hidden);
        var logits = decoder is null ? ComputePrecision.Linear(h, tiedWeight(), bias) : decoder.Forward(h) + bias;
        return logits.MoveToOuterDisposeScope();
    }
}

public sealed class PoNetOnlyMLMHead : Module<Tensor, Tensor>
{
    readonly PoNetLMPredictionHead predictions;

    public PoNetOnlyMLMHead(PoNetConfig config, PoNetEmbeddings embeddings) : base("cls")
    {
        predictions = new PoNetLMPredictionHead(config, embeddings);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden) => predictions.forward(hidden);
}

public sealed class PoNetPreTrainingHeads : Module<Tensor, Tensor, (Tensor mlm, Tensor sso)>
{
    readonly PoNetLMPredictionHead predictions;
    readonly Linear seq_relationship;

    public PoNetPreTrainingHeads(PoNetConfig config, PoNetEmbeddings embeddings) : base("cls")
    {
        predictions = new PoNetLMPredictionHead(config, embeddings);
        // PoNet's sentence structural objective has 3 classes, BERT's and FNet's next-sentence prediction 2.
        seq_relationship = Linear(config.HiddenSize, config.Family.SentenceClasses);
        RegisterComponents();
    }

    public override (Tensor mlm, Tensor sso) forward(Tensor hidden, Tensor pooled) =>
        (predictions.forward(hidden), seq_relationship.Forward(pooled));
}

/// <summary>Labels for a task model; null fields are not used. Loss is computed when any is given.</summary>
public sealed record PoNetLabels(Tensor? MlmLabels = null, Tensor? SsoLabels = null, Tensor? Labels = null);

public sealed record PoNetTaskOutput(Tensor Logits, Tensor? Loss, PoNetModelOutput Base)
{
    public Tensor? SsoLogits { get; init; }
    public Tensor? MlmLoss { get; init; }
    public Tensor? SsoLoss { get; init; }
}

/// <summary>
/// Any task model: the base model plus a head, loadable from a checkpoint by key name. The
/// architecture (PoNet, BERT, FNet) is the config's <see cref="PoNetConfig.ModelType"/>: the same
/// classes build HF's PoNetFor*, BertFor* and FNetFor* layouts.
/// </summary>
public abstract class PoNetTaskModel : Module<PoNetInputs, PoNetLabels?, PoNetTaskOutput>
{
    protected PoNetTaskModel(string name, PoNetConfig config) : base(name) => Config = config;

    /// <summary>
    /// Registers the base model under its family's prefix ("ponet", "bert", "fnet") and then the
    /// heads, in HF's order; by hand because a field name cannot follow the config.
    /// </summary>
    protected void RegisterTask(PoNetModel baseModel, params (string name, Module module)[] heads)
    {
        register_module(Config.Family.Prefix, baseModel);
        foreach (var (name, module) in heads) register_module(name, module);
    }

    public PoNetConfig Config { get; }
    public abstract PoNetModel Encoder { get; }

    /// <summary>The HF architecture name written into config.json.</summary>
    public abstract string Architecture { get; }

    /// <summary>Checkpoint key → parameter it is an alias of (tied tensors), for load and save.</summary>
    public virtual IReadOnlyDictionary<string, string> Aliases => new Dictionary<string, string>();
}

/// <summary>
/// MLM + sentence head: PoNet's sentence structural objective (SSO, 3 classes), BERT's and FNet's
/// next-sentence prediction (2); loss = MLM CE (ignore −100) + sentence CE.
/// </summary>
public sealed class PoNetForPreTraining : PoNetTaskModel
{
    readonly PoNetModel ponet;
    readonly PoNetPreTrainingHeads cls;

    public PoNetForPreTraining(PoNetConfig config) : base(nameof(PoNetForPreTraining), config)
    {
        ponet = new PoNetModel(config);
        cls = new PoNetPreTrainingHeads(config, ponet.Embeddings);
        RegisterTask(ponet, ("cls", cls));
        PoNetModel.InitWeights(this, config);
    }

    public override PoNetModel Encoder => ponet;
    public override string Architecture => Config.Family.ClassPrefix + "ForPreTraining";
    public override IReadOnlyDictionary<string, string> Aliases => MlmAliases(Config, "cls.predictions");

    internal static Dictionary<string, string> MlmAliases(PoNetConfig config, string prefix)
    {
        var aliases = new Dictionary<string, string> { [$"{prefix}.decoder.bias"] = $"{prefix}.bias" };
        if (config.TieWordEmbeddings) aliases[$"{prefix}.decoder.weight"] = $"{config.Family.Prefix}.embeddings.word_embeddings.weight";
        return aliases;
    }

    public override PoNetTaskOutput forward(PoNetInputs inputs, PoNetLabels? labels)
    {
        using var scope = NewDisposeScope();
        var output = ponet.forward(inputs);
        var (mlm, sso) = cls.forward(output.LastHiddenState, output.PoolerOutput!);
        Tensor? loss = null, mlmLoss = null, ssoLoss = null;
        if (labels?.MlmLabels is { } ml)
            mlmLoss = functional.cross_entropy(mlm.view(-1, Config.VocabSize), ml.view(-1), ignore_index: -100);
        if (labels?.SsoLabels is { } sl)
            ssoLoss = functional.cross_entropy(sso, sl.view(-1));
        if (mlmLoss is not null || ssoLoss is not null)
            loss = mlmLoss is null ? ssoLoss : ssoLoss is null ? mlmLoss : mlmLoss + ssoLoss;
        return new PoNetTaskOutput(mlm, loss, output)
        {
            SsoLogits = sso,
            MlmLoss = mlmLoss,
            SsoLoss = ssoLoss,
        }.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The pre-training loss of <see cref="forward"/> with the vocabulary projection computed only at
    /// the positions whose MLM label is not −100. The head works token by token, so the loss is the
    /// same; but only ~15% of tokens are masked, and in a small model the D×V projection costs more
    /// than the whole encoder. <see cref="PoNetTaskOutput.Logits"/> is [masked tokens, V], in the
    /// row-major order of the masked positions. With no sentence labels (an MLM-only objective) the
    /// loss is the MLM loss alone.
    /// </summary>
    public PoNetTaskOutput ForwardMaskedPositions(PoNetInputs inputs, PoNetLabels labels)
    {
        if (labels.MlmLabels is null)
            throw new ArgumentException("MLM labels are needed", nameof(labels));
        using var scope = NewDisposeScope();
        var output = ponet.forward(inputs);
        var flatLabels = labels.MlmLabels.view(-1);
        var positions = flatLabels.ne(-100).nonzero().squeeze(1);
        var hidden = output.LastHiddenState.view(-1, Config.HiddenSize).index_select(0, positions);
        var (mlm, sso) = cls.forward(hidden, output.PoolerOutput!);
        var mlmLoss = functional.cross_entropy(mlm, flatLabels.index_select(0, positions));
        var ssoLoss = labels.SsoLabels is { } sl ? functional.cross_entropy(sso, sl.view(-1)) : null;
        return new PoNetTaskOutput(mlm, ssoLoss is null ? mlmLoss : mlmLoss + ssoLoss, output)
        {
            SsoLogits = sso,
            MlmLoss = mlmLoss,
            SsoLoss = ssoLoss,
        }.MoveToOuterDisposeScope();
    }
}

public sealed class PoNetForMaskedLM : PoNetTaskModel
{
    readonly PoNetModel ponet;
    readonly PoNetOnlyMLMHead cls;

    public PoNetForMaskedLM(PoNetConfig config) : base(nameof(PoNetForMaskedLM), config)
    {
        ponet = new PoNetModel(config, addPoolingLayer: config.Family.PoolerInEveryModel);
        cls = new PoNetOnlyMLMHead(config, ponet.Embeddings);
        RegisterTask(ponet, ("cls", cls));
        PoNetModel.InitWeights(this, config);
    }

    public override PoNetModel Encoder => ponet;
    public override string Architecture => Config.Family.ClassPrefix + "ForMaskedLM";
    public override IReadOnlyDictionary<string, string> Aliases => PoNetForPreTraining.MlmAliases(Config, "cls.predictions");

    public override PoNetTaskOutput forward(PoNetInputs inputs, PoNetLabels? labels)
    {
        using var scope = NewDisposeScope();
        var output = ponet.forward(inputs);
        var logits = cls.forward(output.LastHiddenState);
        Tensor? loss = labels?.MlmLabels is { } ml
            ? functional.cross_entropy(logits.view(-1, Config.VocabSize), ml.view(-1), ignore_index: -100)
            : null;
        return new PoNetTaskOutput(logits, loss, output) { MlmLoss = loss }.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// dropout(pooled) → classifier. Loss as HF: MSE when one label (regression), cross entropy for
/// integer labels, BCE-with-logits for float multi-hot labels (or as config.problem_type says).
/// </summary>
public sealed class PoNetForSequenceClassification : PoNetTaskModel
{
    readonly PoNetModel ponet;
    readonly SeededDropout dropout;
    readonly Linear classifier;

    public PoNetForSequenceClassification(PoNetConfig config) : base(nameof(PoNetForSequenceClassification), config)
    {
        ponet = new PoNetModel(config);
        dropout = new SeededDropout(config.ClassifierDropout ?? config.HiddenDropoutProb);
        classifier = Linear(config.HiddenSize, config.NumLabels);
        RegisterTask(ponet, ("dropout", dropout), ("classifier", classifier));
        PoNetModel.InitWeights(this, config);
    }

    public override PoNetModel Encoder => ponet;
    public override string Architecture => Config.Family.ClassPrefix + "ForSequenceClassification";

    public override PoNetTaskOutput forward(PoNetInputs inputs, PoNetLabels? labels)
    {
        using var scope = NewDisposeScope();
        var output = ponet.forward(inputs);
        var logits = classifier.Forward(dropout.forward(output.PoolerOutput!));
        Tensor? loss = labels?.Labels is { } y ? ClassificationLoss(Config, logits, y) : null;
        return new PoNetTaskOutput(logits, loss, output).MoveToOuterDisposeScope();
    }

    internal static Tensor ClassificationLoss(PoNetConfig config, Tensor logits, Tensor labels)
    {
        var problem = config.ProblemType ?? (config.NumLabels == 1 ? "regression"
            : labels.dtype is ScalarType.Int64 or ScalarType.Int32 ? "single_label_classification"
            : "multi_label_classification");
        return problem switch
        {
            "regression" => config.NumLabels == 1
                ? functional.mse_loss(logits.squeeze(-1), labels.to(logits.dtype))
                : functional.mse_loss(logits, labels.to(logits.dtype)),
            "single_label_classification" => functional.cross_entropy(logits.view(-1, config.NumLabels), labels.view(-1), ignore_index: -100),
            _ => functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype)),
        };
    }
}

/// <summary>No pooler; dropout → classifier on every token; CE with −100 ignored.</summary>
public sealed class PoNetForTokenClassification : PoNetTaskModel
{
    readonly PoNetModel ponet;
    readonly SeededDropout dropout;
    readonly Linear classifier;

    public PoNetForTokenClassification(PoNetConfig config) : base(nameof(PoNetForTokenClassification), config)
    {
        ponet = new PoNetModel(config, addPoolingLayer: config.Family.PoolerInEveryModel);
        dropout = new SeededDropout(config.ClassifierDropout ?? config.HiddenDropoutProb);
        classifier = Linear(config.HiddenSize, config.NumLabels);
        RegisterTask(ponet, ("dropout", dropout), ("classifier", classifier));
        PoNetModel.InitWeights(this, config);
    }

    public override PoNetModel Encoder => ponet;
    public override string Architecture => Config.Family.ClassPrefix + "ForTokenClassification";

    public override PoNetTaskOutput forward(PoNetInputs inputs, PoNetLabels? labels)
    {
        using var scope = NewDisposeScope();
        var output = ponet.forward(inputs);
        var logits = classifier.Forward(dropout.forward(output.LastHiddenState));
        Tensor? loss = labels?.Labels is { } y
            ? functional.cross_entropy(logits.view(-1, Config.NumLabels), y.view(-1), ignore_index: -100)
            : null;
        return new PoNetTaskOutput(logits, loss, output).MoveToOuterDisposeScope();
    }
}

static class TaskOutputExtensions
{
    /// <summary>Moves every tensor of the output out of the current dispose scope.</summary>
    public static PoNetTaskOutput MoveToOuterDisposeScope(this PoNetTaskOutput o)
    {
        o.Logits.MoveToOuterDisposeScope();
        o.Loss?.MoveToOuterDisposeScope();
        o.SsoLogits?.MoveToOuterDisposeScope();
        o.MlmLoss?.MoveToOuterDisposeScope();
        o.SsoLoss?.MoveToOuterDisposeScope();
        o.Base.LastHiddenState.MoveToOuterDisposeScope();
        o.Base.PoolerOutput?.MoveToOuterDisposeScope();
        return o;
    }
}
