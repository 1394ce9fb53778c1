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

    /// <summary>The reference reader's limit on the JSON header (safetensors MAX_HEADER_SIZE).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Reads the header only: names, dtypes, shapes and byte ranges, validated as the reference
    /// reader does: strict UTF-8 JSON, no duplicate names, each tensor's byte count equal to its
    /// shape × dtype size (without overflow), and the byte ranges tiling the data section exactly
    /// (sorted by offset, each starting where the previous ends, the last ending at the end of the
    /// file), so no byte is shared by two tensors and none is left unexplained.
    /// </summary>
    public static (List<Entry> entries, Dictionary<string, string> metadata, long dataStart) ReadHeader(string path)
    {
        if (Directory.Exists(path)) throw new PoNetInputException($"{path}: is a folder, expected a safetensors file");
        if (!File.Exists(path)) throw new PoNetInputException($"{path}: file not found");
        using var f = File.OpenRead(path);
        var length = f.Length;
        if (length < 8) throw new PoNetInputException($"{path}: not a safetensors file: {length} bytes, expected at least an 8-byte header length");
        Span<byte> lenBytes = stackalloc byte[8];
        f.ReadExactly(lenBytes);
        var headerLen = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLen == 0 || headerLen > MaxHeaderBytes || (long)headerLen > length - 8)
            throw new PoNetInputException(
                $"{path}: not a safetensors file or truncated: header length {headerLen} (limit {MaxHeaderBytes}) but the file has {length} bytes");
        var header = new byte[headerLen];
        f.ReadExactly(header);
        try
        {
            StrictUtf8.GetCharCount(header);
        }
        catch (DecoderFallbackException e)
        {
            throw new PoNetInputException($"{path}: header byte {8 + e.Index}: invalid UTF-8 in the JSON header", e);
        }
        long dataStart = 8 + (long)headerLen, dataLen = length - dataStart;
        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string name = "";
        try
        {
            using var document = JsonDocument.Parse(header);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new PoNetInputException($"{path}: corrupt safetensors header: a JSON {Kind(document.RootElement)}, expected an object");
            foreach (var property in document.RootElement.EnumerateObject())
            {
                name = property.Name;
                if (!seen.Add(name))
                    throw new PoNetInputException($"{path}: header key '{name}' appears twice");
                var node = property.Value;
                if (name == "__metadata__")
                {
                    if (node.ValueKind != JsonValueKind.Object)
                        throw new PoNetInputException($"{path}: '__metadata__' is a JSON {Kind(node)}, expected an object of strings");
                    foreach (var item in node.EnumerateObject())
                    {
                        if (item.Value.ValueKind != JsonValueKind.String)
                            throw new PoNetInputException($"{path}: '__metadata__.{item.Name}' is a JSON {Kind(item.Value)}, expected a string");
                        if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                            throw new PoNetInputException($"{path}: '__metadata__.{item.Name}' appears twice");
                    }
                    continue;
                }
                entries.Add(ReadEntry(path, name, node, dataLen));
            }
        }
        catch (JsonException e)
        {
            throw new PoNetInputException($"{path}: corrupt safetensors header: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            // A string escape that is no valid UTF-16 (a lone surrogate such as "\ud800").
            throw new PoNetInputException($"{path}: corrupt safetensors header after key '{name}': {e.Message}", e);
        }
        CheckTiling(path, entries, dataLen);
        return (entries, metadata, dataStart);
    }

    static string Kind(JsonElement e) => e.ValueKind.ToString().ToLowerInvariant();

    static Entry ReadEntry(string path, string name, JsonElement node, long dataLen)
    {
        PoNetInputException Bad(string what) => new($"{path}: tensor '{name}': {what}");
        if (node.ValueKind != JsonValueKind.Object)
            throw Bad($"a JSON {Kind(node)}, expected {{\"dtype\", \"shape\", \"data_offsets\"}}");
        if (!node.TryGetProperty("dtype", out var dtypeNode) || dtypeNode.ValueKind != JsonValueKind.String)
            throw Bad("'dtype' is missing or not a string");
        var dtype = dtypeNode.GetString()!;
        if (!DTypes.TryGetValue(dtype, out var dt))
            throw Bad($"unsupported dtype {dtype} (supported: {string.Join(", ", DTypes.Keys)})");
        long[] Integers(string key)
        {
            if (!node.TryGetProperty(key, out var array) || array.ValueKind != JsonValueKind.Array)
                throw Bad($"'{key}' is missing or not an array");
            return array.EnumerateArray().Select(x =>
                x.ValueKind == JsonValueKind.Number && x.TryGetInt64(out var v) && v >= 0 ? v
                    : throw Bad($"'{key}' holds {x.GetRawText()}, expected integers >= 0")).ToArray();
        }
        var shape = Integers("shape");
        var offsets = Integers("data_offsets");
        if (offsets.Length != 2 || offsets[1] < offsets[0])
            throw Bad($"invalid data_offsets [{string.Join(", ", offsets)}], expected [begin, end] with begin <= end");
        // Checked product, bounded by the file: a shape whose byte count overflows or exceeds the data is refused.
        long expected = shape.Contains(0) ? 0 : dt.size;
        foreach (var d in shape)
        {
            if (expected != 0 && expected > dataLen / d)
                throw Bad($"{dtype}[{string.Join(", ", shape)}] needs more bytes than the data section holds ({dataLen})");
            expected *= d;
        }
        if (offsets[1] - offsets[0] != expected)
            throw Bad($"{dtype}[{string.Join(", ", shape)}] needs {expected} bytes but data_offsets [{offsets[0]}, {offsets[1]}] span {offsets[1] - offsets[0]}");
        if (offsets[1] > dataLen)
            throw Bad($"truncated: ends at byte {offsets[1]} of the data section, which has only {dataLen} bytes");
        return new Entry(name, dt.type, shape, offsets[0], offsets[1]);
    }

    static void CheckTiling(string path, List<Entry> entries, long dataLen)
    {
        long end = 0;
        Entry? previous = null;
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.Begin != end)
                throw new PoNetInputException(e.Begin < end
                    ? $"{path}: tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}] overlap tensor '{previous!.Name}' [{previous.Begin}, {previous.End}]"
                    : $"{path}: bytes {end}..{e.Begin} of the data section belong to no tensor (before '{e.Name}'); data_offsets must tile the data exactly");
            end = e.End;
            previous = e;
        }
        if (end != dataLen)
            throw new PoNetInputException(
                $"{path}: the tensors cover {end} bytes but the data section has {dataLen}; data_offsets must tile the data exactly");
    }

    /// <summary>Reads the named tensors (all when <paramref name="only"/> is null) as CPU tensors.</summary>
    public static Dictionary<string, Tensor> Load(string path, IReadOnlySet<string>? only = null)
    {
        var (entries, _, dataStart) = ReadHeader(path);
        var wanted = entries.Where(e => only is null || only.Contains(e.Name)).ToList();
        PoNet.Runtime.MemoryBudget.Check(path, $"{wanted.Count} tensors", wanted.Sum(e => (double)(e.End - e.Begin)));
        foreach (var e in wanted)
            if (e.End - e.Begin > Array.MaxLength)
                throw new PoNetInputException($"{path}: tensor '{e.Name}' has {e.End - e.Begin} bytes; tensors over {Array.MaxLength} bytes are not supported");
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
