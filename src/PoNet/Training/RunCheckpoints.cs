using System.Globalization;
using PoNet.IO;

namespace PoNet.Training;

/// <summary>
/// The one checkpoint layout of every training command:
/// <code>
/// OUT/checkpoints/latest              name of the newest complete folder ("step-000500")
/// OUT/checkpoints/step-000500/        everything a resume needs (model, optimizer, state.json, …)
/// </code>
/// A save writes a new folder under a temporary name, renames it to its step's name (a name that
/// never holds the checkpoint in use), then replaces <c>latest</c> with an atomic file rename, and
/// only then deletes older folders. So at every instant <c>latest</c> names a complete folder: a
/// kill before the rename of <c>latest</c> leaves the previous checkpoint in use, a kill after it
/// the new one; nothing is ever moved away first. If <c>latest</c> itself is missing (a kill during
/// the very first save), the newest step folder is complete by construction (folders get their
/// step name only once written) and is used. Temporaries of killed saves are removed at the next
/// save or start. <see cref="Stage"/> lets tests stop the process at each instant of the sequence.
/// </summary>
public static class RunCheckpoints
{
    public const string Folder = "checkpoints", Latest = "latest", StateFile = "state.json";

    /// <summary>Points of the save sequence, in order (the names of <see cref="Stage"/> calls).</summary>
    public static readonly string[] Stages = ["begin", "written", "renamed", "latest", "cleaned"];

    /// <summary>Called at each point of a save with its stage name; a test seam (see PONET_KILL_AT_SAVE_STAGE).</summary>
    public static Action<string>? Stage { get; set; } = KillAtStageFromEnvironment();

    public static string StepFolderName(int step) => string.Create(CultureInfo.InvariantCulture, $"step-{step:D6}");

    /// <summary>The newest complete checkpoint folder of a run, or null when it has none.</summary>
    public static string? Find(string outDir)
    {
        var root = Path.Combine(outDir, Folder);
        if (!Directory.Exists(root)) return null;
        var pointer = Path.Combine(root, Latest);
        if (File.Exists(pointer))
        {
            var name = File.ReadAllText(pointer).Trim();
            var dir = Path.Combine(root, name);
            if (!IsStepName(name) || !Directory.Exists(dir))
                throw new PoNetInputException($"{pointer}: names checkpoint '{name}', which does not exist");
            return dir;
        }
        return Directory.EnumerateDirectories(root, "step-*").Where(d => IsStepName(Path.GetFileName(d)))
            .OrderBy(d => Path.GetFileName(d), StringComparer.Ordinal).LastOrDefault();
    }

    /// <summary>True when <paramref name="outDir"/> holds a checkpoint of a run.</summary>
    public static bool Exists(string outDir) => Find(outDir) is not null;

    /// <summary>Writes the checkpoint of <paramref name="step"/>: <paramref name="write"/> fills a fresh folder.</summary>
    public static void Save(string outDir, int step, Action<string> write)
    {
        var root = Path.Combine(outDir, Folder);
        Directory.CreateDirectory(root);
        var name = StepFolderName(step);
        var target = Path.Combine(root, name);
        var pointer = Path.Combine(root, Latest);
        // A step's checkpoint is a pure function of the run and the step: the one in use is already right.
        if (File.Exists(pointer) && File.ReadAllText(pointer).Trim() == name && Directory.Exists(target)) return;
        RemoveTemporaries(outDir);
        Stage?.Invoke("begin");
        var tmp = Path.Combine(root, $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(tmp);
            write(tmp);
            Stage?.Invoke("written");
            if (Directory.Exists(target)) Directory.Delete(target, recursive: true); // a stale folder, not the one in use
            Directory.Move(tmp, target);
        }
        finally
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        }
        Stage?.Invoke("renamed");
        AtomicFile.WriteAllText(pointer, name + "\n");
        Stage?.Invoke("latest");
        foreach (var old in Directory.EnumerateDirectories(root, "step-*"))
            if (Path.GetFileName(old) != name) Directory.Delete(old, recursive: true);
        Stage?.Invoke("cleaned");
    }

    /// <summary>Removes what killed saves left behind (temporary folders and files in checkpoints/).</summary>
    public static void RemoveTemporaries(string outDir)
    {
        var root = Path.Combine(outDir, Folder);
        if (!Directory.Exists(root)) return;
        foreach (var dir in Directory.EnumerateDirectories(root, ".*.tmp")) Directory.Delete(dir, recursive: true);
        foreach (var file in Directory.EnumerateFiles(root, ".*.tmp")) File.Delete(file);
    }

    static bool IsStepName(string name) =>
        name.Length == 11 && name.StartsWith("step-", StringComparison.Ordinal) && name[5..].All(char.IsAsciiDigit);

    /// <summary>
    /// PONET_KILL_AT_SAVE_STAGE=STAGE[:N] kills the process (no clean-up, as kill -9) at the N-th
    /// (default first) save's STAGE: how the tests prove that a checkpoint survives a kill at every
    /// instant of the save.
    /// </summary>
    static Action<string>? KillAtStageFromEnvironment()
    {
        var spec = Environment.GetEnvironmentVariable("PONET_KILL_AT_SAVE_STAGE");
        if (string.IsNullOrEmpty(spec)) return null;
        var parts = spec.Split(':');
        int wanted = parts.Length > 1 && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var n) ? n : 1, seen = 0;
        return stage =>
        {
            if (stage == parts[0] && ++seen == wanted) System.Diagnostics.Process.GetCurrentProcess().Kill();
        };
    }
}
