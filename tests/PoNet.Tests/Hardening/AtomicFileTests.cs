using PoNet.IO;
using Xunit;

namespace PoNet.Tests.Hardening;

public class AtomicFileTests
{
    [Fact]
    public void TemporariesOfDeadWritersAreRemovedOnTheNextWriteAndLiveOnesKept()
    {
        var dir = Bytes.TempDir();
        var target = Path.Combine(dir, "out.jsonl");
        // A pid above the kernel's pid_max never runs; pid 1 always does.
        var dead = Path.Combine(dir, $".out.jsonl.{int.MaxValue}.{Guid.NewGuid():N}.tmp");
        var live = Path.Combine(dir, $".out.jsonl.1.{Guid.NewGuid():N}.tmp");
        var other = Path.Combine(dir, $".other.jsonl.{int.MaxValue}.{Guid.NewGuid():N}.tmp");
        foreach (var f in new[] { dead, live, other }) File.WriteAllText(f, "partial");
        AtomicFile.WriteAllText(target, "done\n");
        Assert.Equal("done\n", File.ReadAllText(target));
        Assert.False(File.Exists(dead));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(other)); // another target's temporaries are its own next write's business
    }

    [Fact]
    public void AFailedWriteLeavesTheOldFileAndNoTemporary()
    {
        var dir = Bytes.TempDir();
        var target = Path.Combine(dir, "out.txt");
        File.WriteAllText(target, "old");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(target, s =>
        {
            s.WriteByte(1);
            throw new InvalidOperationException("killed");
        }));
        Assert.Equal("old", File.ReadAllText(target));
        Assert.Single(Directory.GetFiles(dir));
    }

    [Fact]
    public void WritingOverAFolderIsBadInput()
    {
        var dir = Bytes.TempDir();
        var e = Assert.Throws<PoNetInputException>(() => AtomicFile.WriteAllText(dir, "x"));
        Assert.Contains("is a folder", e.Message);
    }
}
