using PoNet.IO;
using Xunit;

namespace PoNet.Tests.Hardening;

public class AtomicFileTests
{
    [Fact]
    public void TemporariesOfDeadWritersAreRemovedOnTheNextWriteIntoTheFolderAndLiveOnesKept()
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
        Assert.False(File.Exists(other)); // a dead writer's temporary of another file in the folder goes too
        var unrelated = Path.Combine(dir, ".notes.tmp");
        File.WriteAllText(unrelated, "not ours");
        AtomicFile.WriteAllText(target, "again\n");
        Assert.True(File.Exists(unrelated)); // only names of the .NAME.PID.GUID.tmp form are touched
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
