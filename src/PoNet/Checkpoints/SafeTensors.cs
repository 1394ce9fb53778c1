using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;
using PoNet.IO;

namespace PoNet.Checkpoints;

/// <summary>
/// The safetensors format (8-byte little-endian header length, JSON header, raw little-endian data),
/// read with full validation so a truncated or corrupt file is a clear error, never a partial load.
/// </summary>
public static class SafeTensors
{
    public sealed record Entry(string Name, ScalarType DType, long[] Shape, long Begin, long End);

    static readonly Dictionary<string, (ScalarType type, int size)> DTypes = new()
    {
        ["F32"] = (ScalarType.Float32, 4), ["F64"] = (ScalarType.Float64, 8), ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2), ["I64"] = (ScalarType.Int64, 8), ["I32"] = (ScalarType.Int32, 4),
        ["I16"] = (ScalarType.Int16, 2), ["I8"] = (ScalarType.Int8, 1), ["U8"] = (ScalarType.Byte, 1),
        ["BOOL"] = (ScalarType.Bool, 1),
    };

    static string DTypeName(ScalarType t) => DTypes.First(p => p.Value.type == t).Key;

    /// <summary>Reads the header only: names, dtypes, shapes and byte ranges, all validated.</summary>
    public static (List<Entry> entries, Dictionary<string, string> metadata, long dataStart) ReadHeader(string path)
    {
        if (!File.Exists(path)) throw new PoNetInputException($"{path}: file not found");
        using var f = File.OpenRead(path);
        var length = f.Length;
        if (length < 8) throw new PoNetInputException($"{path}: not a safetensors file: {length} bytes, expected at least an 8-byte header length");
        Span<byte> lenBytes = stackalloc byte[8];
        f.ReadExactly(lenBytes);
        var headerLen = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLen == 0 || headerLen > 100_000_000 || (long)headerLen > length - 8)
            throw new PoNetInputException($"{path}: not a safetensors file or truncated: header length {headerLen} but the file has {length} bytes");
        var header = new byte[headerLen];
        f.ReadExactly(header);
        JsonObject root;
        try
        {
            root = JsonNode.Parse(header)?.AsObject() ?? throw new JsonException("header is null");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            throw new PoNetInputException($"{path}: corrupt safetensors header: {e.Message}", e);
        }
        long dataStart = 8 + (long)headerLen, dataLen = length - dataStart;
        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>();
        foreach (var (name, node) in root)
        {
            if (name == "__metadata__")
            {
                if (node is JsonObject meta)
                    foreach (var (k, v) in meta) metadata[k] = v?.ToString() ?? "";
                continue;
            }
            try
            {
                var obj = node!.AsObject();
                var dtype = obj["dtype"]!.GetValue<string>();
                if (!DTypes.TryGetValue(dtype, out var dt))
                    throw new PoNetInputException($"{path}: tensor '{name}' has unsupported dtype {dtype}");
                var shape = obj["shape"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
                var offsets = obj["data_offsets"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0])
                    throw new PoNetInputException($"{path}: tensor '{name}' has invalid data_offsets [{string.Join(", ", offsets)}]");
                long expected = shape.Aggregate(1L, (a, b) => a * b) * dt.size;
                if (shape.Any(d => d < 0) || offsets[1] - offsets[0] != expected)
                    throw new PoNetInputException(
                        $"{path}: tensor '{name}' {dtype}[{string.Join(", ", shape)}] needs {expected} bytes but data_offsets span {offsets[1] - offsets[0]}");
                if (offsets[1] > dataLen)
                    throw new PoNetInputException(
                        $"{path}: truncated: tensor '{name}' ends at byte {offsets[1]} of the data section, which has only {dataLen} bytes");
                entries.Add(new Entry(name, dt.type, shape, offsets[0], offsets[1]));
            }
            catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException or JsonException)
            {
                throw new PoNetInputException($"{path}: tensor '{name}': malformed header entry: {e.Message}", e);
            }
        }
        return (entries, metadata, dataStart);
    }

    /// <summary>Reads the named tensors (all when <paramref name="only"/> is null) as CPU tensors.</summary>
    public static Dictionary<string, Tensor> Load(string path, IReadOnlySet<string>? only = null)
    {
        var (entries, _, dataStart) = ReadHeader(path);
        var result = new Dictionary<string, Tensor>();
        using var f = File.OpenRead(path);
        foreach (var e in entries)
        {
            if (only is not null && !only.Contains(e.Name)) continue;
            var bytes = new byte[e.End - e.Begin];
            f.Seek(dataStart + e.Begin, SeekOrigin.Begin);
            f.ReadExactly(bytes);
            var t = torch.empty(e.Shape, e.DType);
            if (bytes.Length > 0)
                t.bytes = bytes;
            result[e.Name] = t;
        }
        return result;
    }

    /// <summary>Writes tensors (sorted by name, as the reference library does) atomically.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        var names = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var name in names)
        {
            using var t = tensors[name].detach().cpu().contiguous();
            var bytes = t.numel() == 0 ? [] : t.bytes.ToArray();
            header[name] = new JsonObject
            {
                ["dtype"] = DTypeName(t.dtype),
                ["shape"] = new JsonArray(t.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes.Length),
            };
            offset += bytes.Length;
            blobs.Add(bytes);
        }
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        // Pad the header with spaces to an 8-byte boundary, as the reference writer does.
        var padded = (headerBytes.Length + 7) / 8 * 8;
        AtomicFile.Write(path, s =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
            s.Write(len);
            s.Write(headerBytes);
            for (int i = headerBytes.Length; i < padded; i++) s.WriteByte((byte)' ');
            foreach (var b in blobs) s.Write(b);
        });
    }
}
