namespace PoNet.Tokenization;

/// <summary>HF's truncation strategies; tokens are always removed from the end of a sequence.</summary>
public enum TruncationStrategy
{
    /// <summary>
    /// `longest_first`: remove one token at a time from the longer sequence, from the second one on a tie.
    /// For a single sequence, cut it.
    /// </summary>
    LongestFirst,

    /// <summary>`only_first`: cut only the first sequence; an error when it is too short.</summary>
    OnlyFirst,

    /// <summary>`only_second`: cut only the second sequence; an error when it is too short or absent.</summary>
    OnlySecond,
}
