using System.Text;

namespace PoNet.IO;

/// <summary>
/// Text inputs are UTF-8, checked strictly: an invalid byte is an error naming its line, never a
/// silent U+FFFD (the tokenizer's own reader already refused such files; now every reader does).
/// </summary>
public static class StrictUtf8
{
    public static readonly UTF8Encoding Encoding = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Streams through <paramref name="path"/> once; throws PoNetInputException "path:line: invalid UTF-8" at the first bad byte.</summary>
    public static void Check(string path)
    {
        var decoder = Encoding.GetDecoder();
        var buffer = new byte[1 << 16];
        var chars = new char[Encoding.GetMaxCharCount(buffer.Length)];
        long line = 1, offset = 0;
        using var file = File.OpenRead(path);
        while (true)
        {
            int n = file.Read(buffer);
            try
            {
                // GetChars, not GetCharCount: only it keeps a sequence split across two reads in the decoder's state.
                decoder.GetChars(buffer, 0, n, chars, 0, flush: n == 0);
            }
            catch (DecoderFallbackException e)
            {
                int at = Math.Clamp(e.Index, 0, n);
                line += buffer.AsSpan(0, at).Count((byte)'\n');
                throw PoNetInputException.AtLine(path, line, $"invalid UTF-8 at byte {offset + at}; expected a UTF-8 text file");
            }
            if (n == 0) return;
            line += buffer.AsSpan(0, n).Count((byte)'\n');
            offset += n;
        }
    }
}
