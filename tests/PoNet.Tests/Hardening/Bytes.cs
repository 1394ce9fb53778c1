using System.Buffers.Binary;
using System.Text;

namespace PoNet.Tests.Hardening;

/// <summary>Hand-made files for the bad-input tests: raw bytes, so a test can write what no writer would.</summary>
static class Bytes
{
    public static string TempDir() => TestTemp.Dir("ponet-hard-");

    /// <summary>A safetensors file from a raw header (UTF-8 unless <paramref name="rawHeader"/>) and data bytes.</summary>
    public static string SafeTensors(string dir, string header, byte[]? data = null, byte[]? rawHeader = null, string name = "t.safetensors")
    {
        var h = rawHeader ?? Encoding.UTF8.GetBytes(header);
        var path = Path.Combine(dir, name);
        using var f = File.Create(path);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)h.Length);
        f.Write(len);
        f.Write(h);
        f.Write(data ?? []);
        return path;
    }

    public static string Write(string dir, string name, string text) => Write(dir, name, Encoding.UTF8.GetBytes(text));

    public static string Write(string dir, string name, byte[] bytes)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
