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

    public static IdxImages ReadImages(string path)
    {
        byte[] data = ReadAll(ref path);
        int[] dims = ReadHeader(path, data, ImagesMagic, "images (N×rows×cols unsigned bytes)");
        long expected = (long)dims[0] * dims[1] * dims[2];
        CheckLength(path, data, 16, expected, $"{dims[0]} images of {dims[1]}×{dims[2]}");
        return new IdxImages(dims[0], dims[1], dims[2], data[16..]);
    }

    public static byte[] ReadLabels(string path)
    {
        byte[] data = ReadAll(ref path);
        int[] dims = ReadHeader(path, data, LabelsMagic, "labels (N unsigned bytes)");
        CheckLength(path, data, 8, dims[0], $"{dims[0]} labels");
        return data[8..];
    }

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

    /// <summary>The file's bytes, gunzipped if gzip; then <paramref name="path"/> says so for messages.</summary>
    private static byte[] ReadAll(ref string path)
    {
        if (!File.Exists(path))
            throw new PoNetInputException($"{path}: no such IDX file");
        byte[] raw = File.ReadAllBytes(path);
        if (raw.Length < 2 || raw[0] != 0x1f || raw[1] != 0x8b)
            return raw;
        try
        {
            using var gzip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var result = new MemoryStream();
            gzip.CopyTo(result);
            path += " (gunzipped)";
            return result.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new PoNetInputException($"{path}: starts like gzip but does not decompress ({e.Message})", e);
        }
    }

    private static int[] ReadHeader(string path, byte[] data, int magic, string what)
    {
        int rank = magic & 0xff;
        if (data.Length < 4)
            throw new PoNetInputException($"{path}: {data.Length} bytes is too short for an IDX header of {what}");
        int found = BinaryPrimitives.ReadInt32BigEndian(data);
        if (found != magic)
            throw new PoNetInputException($"{path}: magic number 0x{found:x8}, expected 0x{magic:x8} for IDX {what}");
        if (data.Length < 4 + 4 * rank)
            throw new PoNetInputException($"{path}: {data.Length} bytes is too short for an IDX header of {what}");
        var dims = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4 + 4 * i));
            if (dims[i] <= 0)
                throw new PoNetInputException($"{path}: dimension {i} is {dims[i]}, expected a positive size");
        }
        return dims;
    }

    private static void CheckLength(string path, byte[] data, int header, long expected, string what)
    {
        if (data.Length - header != expected)
            throw new PoNetInputException($"{path}: header announces {what} ({expected} bytes), the file has {data.Length - header} bytes after the header");
    }
}
