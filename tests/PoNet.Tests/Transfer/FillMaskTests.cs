using PoNet.Inference;
using Xunit;
using static TorchSharp.torch;

namespace PoNet.Tests.Transfer;

public class FillMaskTests
{
    /// <summary>
    /// A vocabulary for the golden cfgB checkpoint (vocab 1000): token "wN" for id N, the BERT specials at
    /// 0/100/101/102, and [MASK] at <paramref name="maskId"/>, so that any golden row can be written as text.
    /// </summary>
    public static string CfgBVocab(int maskId)
    {
        var lines = Enumerable.Range(0, 1000).Select(id => id switch
        {
            0 => "[PAD]",
            100 => "[UNK]",
            101 => "[CLS]",
            102 => "[SEP]",
            _ when id == maskId => "[MASK]",
            _ => $"w{id}",
        });
        var path = Path.Combine(TransferTestData.Temp("ponet-vocab-"), "vocab.txt");
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>
    /// Row 0 of cfgB's b0 is [CLS] A [SEP] B [SEP]. Writing it as a text pair with one of its tokens
    /// renamed [MASK] gives exactly the golden input, so fill-mask must report the softmax of the
    /// reference's MLM logits at that position.
    /// </summary>
    [Fact]
    public void ProbabilitiesAreTheSoftmaxOfTheReferenceLogitsAtTheMask()
    {
        var golden = Golden.Read(Golden.Batch("cfgB", "b0"));
        var ids = golden["input.input_ids"][0].data<long>().Select(i => (int)i).ToArray();
        int[] seps = [.. Enumerable.Range(0, ids.Length).Where(p => ids[p] == 102)];
        int maskPosition = Enumerable.Range(1, seps[0] - 1).First(p => ids[p] is not (0 or 100) && ids.Count(i => i == ids[p]) == 1);
        var fill = new FillMask(Golden.Dir("cfgB"), CfgBVocab(ids[maskPosition]));
        string Text(int from, int to) => string.Join(' ', ids[from..to].Select(fill.Tokenizer.IdToToken));
        string a = Text(1, seps[0]), b = Text(seps[0] + 1, seps[1]);

        var encoding = fill.Tokenizer.Encode(a, b);
        Assert.Equal(ids, encoding.InputIds);
        Assert.Equal(golden["input.token_type_ids"][0].data<long>().Select(i => (int)i), encoding.TokenTypeIds);

        var prediction = Assert.Single(fill.Predict(a, topK: 5, textPair: b));
        Assert.Equal(maskPosition, prediction.Position);
        var probabilities = golden["output.mlm_logits"][0, maskPosition].softmax(-1);
        var (values, indices) = probabilities.topk(5);
        Assert.Equal(indices.data<long>().Select(i => (int)i), prediction.Candidates.Select(c => c.TokenId));
        for (int r = 0; r < 5; r++)
        {
            Assert.Equal(values[r].item<float>(), prediction.Candidates[r].Score, 1e-4);
            Assert.Equal(fill.Tokenizer.IdToToken(prediction.Candidates[r].TokenId), prediction.Candidates[r].Token);
        }
        Assert.True(prediction.Candidates.Zip(prediction.Candidates.Skip(1)).All(p => p.First.Score >= p.Second.Score));
    }

    [Fact]
    public void ATextWithoutAMaskIsAnInputError()
    {
        var fill = new FillMask(Golden.Dir("cfgB"), CfgBVocab(103));
        var error = Assert.Throws<PoNetInputException>(() => fill.Predict("w5 w6 w7"));
        Assert.Contains("the text has no [MASK] token to fill", error.Message);
        Assert.Equal(2, fill.Predict("w5 [MASK] w7 [MASK]", topK: 3).Count);
    }

    [Fact]
    public void ASequenceClassificationCheckpointHasNoMlmHead()
    {
        var error = Assert.Throws<PoNetInputException>(() => new FillMask(Path.Combine(Golden.Dir("cfgB"), "seqcls"), CfgBVocab(103)));
        Assert.Contains("no MLM head", error.Message);
    }
}
