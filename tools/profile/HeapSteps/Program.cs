// Training steps of the LRA model at the Text shape (batch 32, N 4096, D 64), one line per step:
// wall and CPU seconds, minor page faults, glibc's heap (mallinfo2: size, in use, free) and the
// tensor cache (docs/MODEL.md §10.10). Arguments: mixer (ponet), steps (20), threads (1);
// KEEP=0 leaves freed memory to glibc's defaults and the cache off; PONET_TENSOR_CACHE=0 keeps the cache out.
using System.Diagnostics;
using System.Runtime.InteropServices;
using PoNet.Lra;
using PoNet.Model;
using PoNet.Model.Mixers;
using PoNet.Runtime;
using NativeMemory = PoNet.Runtime.NativeMemory;
using static TorchSharp.torch;

NativeRuntime.EnsureLoaded();
bool keep = Environment.GetEnvironmentVariable("KEEP") != "0";
if (keep) NativeMemory.KeepFreedMemory();
string mixerName = args.Length > 0 ? args[0] : "ponet";
int steps = args.Length > 1 ? int.Parse(args[1]) : 20;
set_num_threads(args.Length > 2 ? int.Parse(args[2]) : 1);
manual_seed(0);
var lra = new LraConfig
{
    Task = "bench", Mixer = PoNet.IO.EnumNames.Parse<MixerKind>(mixerName, "mixer"), Layers = 2, Dim = 64, Heads = 2, Ffn = 128,
    VocabSize = 512, Classes = 2, MaxLength = 4096, Segments = 4096,
}.Validate();
var model = LraModel.Create(lra);
var tokens = randint(1, 500, [32, 4096], dtype: ScalarType.Int64);
var labels = zeros(32, dtype: ScalarType.Int64);
var opt = optim.AdamW(model.parameters(), lr: 1e-4, weight_decay: 0);
model.train();
var proc = Process.GetCurrentProcess();
for (int i = 0; i < steps; i++)
{
    proc.Refresh();
    var cpu = proc.TotalProcessorTime;
    long flt0 = MinorFaults();
    var sw = Stopwatch.StartNew();
    using (var scope = NewDisposeScope())
    {
        opt.zero_grad();
        nn.functional.cross_entropy(model.forward(new LraBatch(tokens, null, labels)), labels).backward();
        opt.step();
    }
    double wall = sw.Elapsed.TotalSeconds;
    proc.Refresh();
    var mi = Heap.Info();
    Console.WriteLine($"step {i,3} wall {wall:F3} cpu {(proc.TotalProcessorTime - cpu).TotalSeconds:F3} faults {MinorFaults() - flt0,7} heap {mi.arena / 1048576.0,7:F0} MB inuse {mi.uordblks / 1048576.0,7:F0} free {mi.fordblks / 1048576.0,7:F0} mmapped {mi.hblkhd / 1048576.0,6:F0} rss {NativeMemory.ResidentMegabytes():F0} cache {TensorBlockCache.ReservedBytes / 1048576.0:F0} MB {TensorBlockCache.Counts} {TensorBlockCache.Refusal}");
}

Console.WriteLine($"cache: {TensorBlockCache.ReservedBytes >> 20} MiB held, at most {TensorBlockCache.InUseBytes.Peak >> 20} MiB in use at once; blocks (MiB × count, free now): " + string.Join(", ", TensorBlockCache.Blocks().Select(b => $"{b.Bytes >> 20}×{b.Count} ({b.Free})")));

static long MinorFaults()
{
    var f = File.ReadAllText("/proc/self/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    return long.Parse(f[7]);
}

static partial class Heap
{
    [StructLayout(LayoutKind.Sequential)]
    public struct MallInfo2 { public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost; }
    [DllImport("libc", EntryPoint = "mallinfo2")] static extern MallInfo2 MallInfo();
    public static MallInfo2 Info() => MallInfo();
}
