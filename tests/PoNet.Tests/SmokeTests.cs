using System.Runtime.CompilerServices;
using TorchSharp;
using Xunit;
using PoNet.Runtime;

namespace PoNet.Tests;

static class TestSetup
{
    [ModuleInitializer]
    internal static void Init() => NativeRuntime.EnsureLoaded();
}

public class NativeLoadingTests
{
    [Fact]
    public void LibTorchLoadsAndComputes()
    {
        using var t = torch.arange(6, dtype: torch.float32).reshape(2, 3);
        Assert.Equal(15f, t.sum().item<float>());
    }

    [Fact]
    public void BuildMarkedTheGlibcxxRequirementWeakWhereTheSystemLacksIt()
    {
        if (!OperatingSystem.IsLinux()) return;
        var lib = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so"));
        var flags = ElfVersionNeeds(lib).Single(v => v.name == "GLIBCXX_3.4.32").flags;
        var systemHasIt = File.Exists("/usr/lib/x86_64-linux-gnu/libstdc++.so.6")
            && File.ReadAllBytes("/usr/lib/x86_64-linux-gnu/libstdc++.so.6").AsSpan().IndexOf("GLIBCXX_3.4.32\0"u8) >= 0;
        if (!systemHasIt) Assert.Equal(2, flags & 2); // VER_FLG_WEAK
    }

    /// <summary>(name, vna_flags) of every entry of .gnu.version_r, read independently of the build task.</summary>
    static List<(string name, int flags)> ElfVersionNeeds(byte[] elf)
    {
        var result = new List<(string, int)>();
        long shoff = BitConverter.ToInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            int sh = (int)shoff + i * shentsize;
            if (BitConverter.ToUInt32(elf, sh + 4) != 0x6ffffffe) continue;
            int off = (int)BitConverter.ToInt64(elf, sh + 0x18);
            int link = BitConverter.ToInt32(elf, sh + 0x28);
            int str = (int)BitConverter.ToInt64(elf, (int)shoff + link * shentsize + 0x18);
            for (int vn = off; ; )
            {
                int cnt = BitConverter.ToUInt16(elf, vn + 2);
                for (int k = 0, va = vn + BitConverter.ToInt32(elf, vn + 8); k < cnt; k++)
                {
                    int name = str + BitConverter.ToInt32(elf, va + 8), end = Array.IndexOf(elf, (byte)0, name);
                    result.Add((System.Text.Encoding.ASCII.GetString(elf, name, end - name), BitConverter.ToUInt16(elf, va + 4)));
                    va += BitConverter.ToInt32(elf, va + 12);
                }
                int next = BitConverter.ToInt32(elf, vn + 12);
                if (next == 0) break;
                vn += next;
            }
        }
        return result;
    }
}
