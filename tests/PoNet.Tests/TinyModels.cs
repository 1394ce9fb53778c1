using PoNet.Model;

namespace PoNet.Tests;

static class TinyModels
{
    public static PoNetConfig Config(int vocab = 120, int hidden = 16, int layers = 2, int heads = 4, bool clsgsepg = true, double dropout = 0.1) => new()
    {
        VocabSize = vocab, HiddenSize = hidden, NumHiddenLayers = layers, NumAttentionHeads = heads,
        IntermediateSize = 2 * hidden, MaxPositionEmbeddings = 64, ClsGSepG = clsgsepg, HiddenDropoutProb = dropout,
    };
}
