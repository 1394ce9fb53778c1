using PoNet.Lra.Data;
using Xunit;

namespace PoNet.Tests.Lra;

public class LraTruncationTests
{
    [Fact]
    public void CutsLongSequencesAndCountsThem()
    {
        var examples = new[] { new LraExample([1, 2, 3, 4], 0), new LraExample([5, 6], 1), new LraExample([7, 8, 9], 1) };
        var cut = LraTruncation.Truncate(examples, maxLength: 2, out int truncated);
        Assert.Equal(2, truncated);
        Assert.Equal([[1, 2], [5, 6], [7, 8]], cut.Select(e => e.Tokens));
        Assert.Equal([0, 1, 1], cut.Select(e => e.Label));
        Assert.Same(examples[1].Tokens, cut[1].Tokens);
    }

    [Fact]
    public void CountsEachCutDocumentOfAPair()
    {
        var pairs = new[] { new LraPairExample([1, 2, 3], [4, 5, 6], 1), new LraPairExample([1], [2, 3, 4], 0) };
        var cut = LraTruncation.Truncate(pairs, maxLength: 2, out int truncated);
        Assert.Equal(3, truncated);
        Assert.Equal([4, 5], cut[0].Tokens2);
        Assert.Equal([1], cut[1].Tokens1);
    }
}
