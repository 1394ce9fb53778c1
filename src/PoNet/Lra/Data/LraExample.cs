namespace PoNet.Lra.Data;

/// <summary>
/// One single-sequence LRA example. Token id 0 is padding for every task except the image tasks,
/// whose 1024 pixel tokens are never padded (a black pixel is token 0 there).
/// </summary>
public sealed record LraExample(int[] Tokens, int Label);

/// <summary>One two-document LRA example (Retrieval): both documents go through the same encoder.</summary>
public sealed record LraPairExample(int[] Tokens1, int[] Tokens2, int Label);

/// <summary>
/// Train/dev/test lists of one task. Where the benchmark has no dev set (IMDb, CIFAR-10,
/// Fashion-MNIST) LRA evaluated on the test set during training, so Dev is the same list as Test.
/// </summary>
public sealed record LraSplit<T>(IReadOnlyList<T> Train, IReadOnlyList<T> Dev, IReadOnlyList<T> Test)
{
    /// <summary>
    /// How many sequences (documents, for pairs) the reader cut to its maximum length; the caller
    /// logs it, since silent truncation hides how much of the data the model never sees.
    /// </summary>
    public int Truncated { get; init; }
}
