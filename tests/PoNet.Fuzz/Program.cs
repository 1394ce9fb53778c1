using PoNet.Tests.Fuzz;
using SharpFuzz;

// ponet-fuzz TARGET            under afl-fuzz: one input per iteration, in-process (persistent mode)
// ponet-fuzz TARGET FILE...    replays files without AFL (prints each verdict)
if (args.Length == 0 || !FuzzTargets.All.ContainsKey(args[0]))
{
    Console.Error.WriteLine($"usage: PoNet.Fuzz TARGET [FILE...]; targets: {string.Join(", ", FuzzTargets.All.Keys)}");
    return 2;
}
var target = args[0];
var scratch = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"ponet-fuzz-{Environment.ProcessId}");
if (args.Length > 1)
{
    foreach (var file in args.Skip(1))
        Console.WriteLine($"{file}: {(FuzzTargets.Run(target, File.ReadAllBytes(file), scratch) ? "accepted" : "refused (PoNetInputException)")}");
    return 0;
}
Fuzzer.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    FuzzTargets.Run(target, buffer.ToArray(), scratch);
});
return 0;
