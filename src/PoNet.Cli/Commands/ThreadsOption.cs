using System.CommandLine;
using TorchSharp;

namespace PoNet.Cli.Commands;

/// <summary>
/// --threads: libtorch's intra-op threads. On a machine whose cores other processes also use, fewer
/// threads can be much faster (measured: 1 thread 8× faster than 2 on a busy 2-core machine),
/// because libtorch's threads wait for each other at every operation.
/// </summary>
internal static class ThreadsOption
{
    public static Option<int?> Create() => new("--threads") { Description = "CPU threads for libtorch (default: one per core; use 1 when other jobs share the cores)" };

    /// <summary>
    /// On --resume without --threads, the thread count of the session that wrote the checkpoint:
    /// libtorch's reductions split work by thread count, so another count gives other last bits and a
    /// resumed run would no longer be bit-identical to an uninterrupted one.
    /// </summary>
    public static void ApplyOnResume(ParseResult parse, Option<int?> option, string outDir, string kind)
    {
        if (parse.GetValue(option) is not null)
        {
            Apply(parse, option);
            return;
        }
        int saved = PoNet.Training.Trainer.Latest(outDir, kind).State.Threads;
        if (saved > 0)
        {
            Console.Error.WriteLine($"ponet: resuming with {saved} CPU thread(s), as the checkpoint was written (--threads to choose)");
            torch.set_num_threads(saved);
        }
    }

    public static void Apply(ParseResult parse, Option<int?> option)
    {
        if (parse.GetValue(option) is not { } n) return;
        if (n < 1) throw new PoNetInputException($"--threads {n}: expected >= 1");
        torch.set_num_threads(n);
    }
}
