namespace PoNet.Tokenization;

/// <summary>
/// Which HF implementation the tokenizer reproduces where the two disagree. <c>AutoTokenizer</c> returns
/// the fast one, so that is the default.
/// </summary>
public enum TokenizerCompatibility
{
    /// <summary>
    /// BertTokenizerFast (the Rust tokenizers crate): lowercase per character (Σ is always σ), no NFC,
    /// unassigned code points kept (they end up in [UNK]), its CJK range 0x2B920–0x2CEAF (so U+2B820–U+2B91F
    /// is not spaced out), and longest_first giving the extra token of an odd cut to the longer sequence
    /// (the second on a tie).
    /// </summary>
    Fast,
    /// <summary>
    /// BertTokenizer (Python, tokenization_bert.py): NFC first, str.lower() with the final-sigma rule,
    /// unassigned code points removed as controls, CJK range from 0x2B820, and longest_first cutting one
    /// token at a time from the longer sequence (the second on a tie), so the first keeps the extra token.
    /// </summary>
    Python,
}
