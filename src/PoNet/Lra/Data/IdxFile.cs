using System.Buffers.Binary;
using System.IO.Compression;
using PoNet.IO;

namespace PoNet.Lra.Data;

/// <summary>Images of an IDX file: <see cref="Count"/> images of Rows×Columns bytes, row-major, one after another.</summary>
public sealed record IdxImages(int Count, int Rows, int Columns, byte[] Pixels);

/// <summary>
/// The IDX format of MNIST and Fashion-MNIST: a big-endian magic (0x00000803 for unsigned-byte
/// images N×rows×cols, 0x00000801 for unsigned-byte labels N), the dimensions as big-endian int32,
/// then the bytes. Files may be gzip-compressed (detected by content, not by name).
/// </summary>
public static class IdxFile
{
    public const int ImagesMagic = 0x00000803;
    public const int LabelsMagic = 0x00000801;

    /// <summary>
    /// Largest payload read (bytes after the header): one .NET array; Fashion-MNIST's train images are
    /// 47 MB, Pathfinder-32's 200k images 205 MB. Bounds a gzip bomb before it is decompressed.
    /// </summary>
    public const long MaxPayloadBytes = int.MaxValue - 64;

    public static IdxImages ReadImages(string path)
    {
        var (dims, pixels) = Read(path, ImagesMagic, "images (N×rows×cols unsigned bytes)", d => $"{d[0]} images of {d[1]}×{d[2]}");
        return new IdxImages(dims[0], dims[1], dims[2], pixels);
    }

    public static byte[] ReadLabels(string path) =>
        Read(path, LabelsMagic, "labels (N unsigned bytes)", d => $"{d[0]} labels").Payload;

    /// <summary>Writes images atomically; gzip-compressed when the name ends in .gz.</summary>
    public static void WriteImages(string path, IdxImages images)
    {
        if (images.Pixels.Length != (long)images.Count * images.Rows * images.Columns)
            throw new ArgumentException("pixel count does not match Count×Rows×Columns");
        Write(path, [images.Count, images.Rows, images.Columns], ImagesMagic, images.Pixels);
    }

    public static void WriteLabels(string path, byte[] labels) =>
        Write(path, [labels.Length], LabelsMagic, labels);

    private static void Write(string path, int[] dims, int magic, byte[] data) =>
        AtomicFile.Write(path, file =>
        {
            bool gzip = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
            using var compressed = gzip ? new GZipStream(file, CompressionLevel.Fastest, leaveOpen: true) : null;
            Stream stream = compressed ?? file;
            Span<byte> word = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(word, magic);
            stream.Write(word);
            foreach (int d in dims)
            {
                BinaryPrimitives.WriteInt32BigEndian(word, d);
                stream.Write(word);
            }
            stream.Write(data);
        });

    /// <summary>
    /// Reads header and payload as a stream (gunzipped when the content is gzip): the header's sizes
    /// are checked against <see cref="MaxPayloadBytes"/> and the machine's memory before the payload
    /// is read, and exactly that many bytes must follow, so a compressed file never inflates past
    /// what its header declares.
    /// </summary>
    private static (int[] Dims, byte[] Payload) Read(string path, int magic, string what, Func<int[], string> describe)
    {
        if (!File.Exists(path))
            throw new PoNetInputException($"{path}: no such IDX file");
        using var file = File.OpenRead(path);
        Span<byte> probe = stackalloc byte[2];
        int probed = file.ReadAtLeast(probe, 2, throwOnEndOfStream: false);
        file.Position = 0;
        bool gzip = probed == 2 && probe[0] == 0x1f && probe[1] == 0x8b;
        using var stream = gzip ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
        var where = gzip ? path + " (gunzipped)" : path;
        try
        {
            int rank = magic & 0xff;
            var header = new byte[4 + 4 * rank];
            int got = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            if (got < 4)
                throw new PoNetInputException($"{where}: {got} bytes is too short for an IDX header of {what}");
            int found = BinaryPrimitives.ReadInt32BigEndian(header);
            if (found != magic)
                throw new PoNetInputException($"{where}: magic number 0x{found:x8}, expected 0x{magic:x8} for IDX {what}");
            if (got < header.Length)
                throw new PoNetInputException($"{where}: {got} bytes is too short for an IDX header of {what}");
            var dims = new int[rank];
            long expected = 1;
            for (int i = 0; i < rank; i++)
            {
                dims[i] = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4 + 4 * i));
                if (dims[i] <= 0)
                    throw new PoNetInputException($"{where}: dimension {i} is {dims[i]}, expected a positive size");
                expected *= dims[i]; // at most three int32 factors: < 2^93 would overflow, so bound as we go
                if (expected > MaxPayloadBytes)
                    throw new PoNetInputException(
                        $"{where}: header announces {string.Join("×", dims.Take(i + 1))}… bytes, over the limit of {MaxPayloadBytes} bytes per IDX file");
            }
            if (!gzip && file.Length - header.Length != expected)
                throw new PoNetInputException(
                    $"{where}: header announces {describe(dims)} ({expected} bytes), the file has {file.Length - header.Length} bytes after the header");
            PoNet.Runtime.MemoryBudget.Check(where, $"{describe(dims)}", expected);
            var payload = new byte[expected];
            int read = stream.ReadAtLeast(payload, payload.Length, throwOnEndOfStream: false);
            bool more = read == payload.Length && stream.ReadByte() >= 0;
            if (read != expected || more)
                throw new PoNetInputException(
                    $"{where}: header announces {describe(dims)} ({expected} bytes), the file has {(more ? "more" : read.ToString())} bytes after the header");
            return (dims, payload);
        }
        catch (InvalidDataException e)
        {
            throw new PoNetInputException($"{path}: starts like gzip but does not decompress ({e.Message})", e);
        }
    }
}
