namespace PoNet.Lra.Data;

/// <summary>
/// Byte-level tokens for the LRA text tasks (Text, Retrieval): each UTF-8 byte b is token b + 1, so
/// 0 stays padding; 257 ids, within the paper's vocabulary of 512. Sequences are cut after
/// <c>maxLength</c> bytes, even inside a multi-byte character, as the byte-level benchmark does.
/// </summary>
public static class ByteTokens
{
    public const int VocabSize = 257;

    public static int[] Encode(ReadOnlySpan<byte> utf8, int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        var tokens = new int[Math.Min(utf8.Length, maxLength)];
        for (int i = 0; i < tokens.Length; i++)
            tokens[i] = utf8[i] + 1;
        return tokens;
    }

    /// <summary>The bytes back (padding dropped), for logs and tests.</summary>
    public static byte[] Decode(IEnumerable<int> tokens) =>
        tokens.Where(t => t != 0).Select(t => (byte)(t - 1)).ToArray();
}
