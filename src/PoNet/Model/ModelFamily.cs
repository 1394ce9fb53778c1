using PoNet.Model.Mixers;

namespace PoNet.Model;

/// <summary>
/// The architectures in HuggingFace layout (docs/MODEL.md §3, §8, §9), chosen by config.json's
/// <c>model_type</c> in this one place: the token mixer of every layer, the state-dict prefix, the
/// HF class names, and the layout differences between PoNet/BERT and FNet.
/// </summary>
public sealed record ModelFamily(
    string ModelType,
    /// <summary>State-dict prefix of the base model inside the task models ("ponet.", "bert.", "fnet.").</summary>
    string Prefix,
    /// <summary>Prefix of HF's class names: PoNetForPreTraining, BertForPreTraining, FNetForPreTraining.</summary>
    string ClassPrefix,
    MixerKind Mixer,
    /// <summary>The pre-training sentence head <c>cls.seq_relationship</c>: "sso" (PoNet's sentence structural objective) or "nsp" (next-sentence prediction).</summary>
    string SentenceObjective,
    /// <summary>Its classes: 3 for SSO (in order, swapped, from elsewhere), 2 for NSP (is next, random).</summary>
    int SentenceClasses,
    /// <summary>HF's default <c>hidden_act</c> for the family: "gelu" (erf), FNet's "gelu_new" (tanh).</summary>
    string DefaultHiddenAct,
    /// <summary>Name of the mixing sub-block of a layer: "attention" (PoNet, BERT) or "fourier" (FNet).</summary>
    string MixerBlock,
    /// <summary>Whether the mixing sub-block's output has a dense projection and dropout before its residual LayerNorm (FNet's has neither).</summary>
    bool MixerOutputDense,
    /// <summary>FNet: a Linear(hidden, hidden) <c>embeddings.projection</c> after the embedding LayerNorm.</summary>
    bool EmbeddingProjection,
    /// <summary>FNet keeps the pooler in its masked-LM and token-classification models (HF's FNetModel(config)).</summary>
    bool PoolerInEveryModel,
    /// <summary>Whether the saved state dict carries <c>embeddings.position_ids</c> (the PoNet reference's is persistent; HF BERT/FNet's is not).</summary>
    bool SavesPositionIds)
{
    public static readonly ModelFamily PoNet = new("ponet", "ponet", "PoNet", MixerKind.PoNet, "sso", 3, "gelu", "attention", true, false, false, true);
    public static readonly ModelFamily Bert = new("bert", "bert", "Bert", MixerKind.Transformer, "nsp", 2, "gelu", "attention", true, false, false, false);
    public static readonly ModelFamily FNet = new("fnet", "fnet", "FNet", MixerKind.FNet, "nsp", 2, "gelu_new", "fourier", false, true, true, false);

    public static readonly IReadOnlyList<ModelFamily> All = [PoNet, Bert, FNet];

    /// <summary>The family of a <c>model_type</c>; a <see cref="PoNetInputException"/> naming the accepted ones otherwise.</summary>
    public static ModelFamily For(string modelType, string source = "config") =>
        All.FirstOrDefault(f => f.ModelType == modelType)
        ?? throw new PoNetInputException(
            $"{source}: 'model_type' = \"{modelType}\": expected one of {string.Join(", ", All.Select(f => $"\"{f.ModelType}\""))}");

    /// <summary>The family whose prefix starts a state-dict key, or null.</summary>
    public static ModelFamily? OfKey(string key) =>
        All.FirstOrDefault(f => key.StartsWith(f.Prefix + ".", StringComparison.Ordinal));
}
