// The matrix products of one LRA layer at batch 32 × N 4096, D 64, FFN 128, timed one shape at a
// time as plain matmuls, in a process set up as ponet sets up its own (huge pages, freed memory
// kept): PoNet's D→3D product and output projection against the FFN's, forward and backward, and
// GA's small batched products over X.
// Median of 7 after a warm-up, three passes over all shapes, the last one printed.
using System.Diagnostics;
using PoNet.Runtime;
using static TorchSharp.torch;

NativeRuntime.EnsureLoaded();   // huge pages for libtorch, as ponet does
NativeMemory.KeepFreedMemory();
set_num_threads(args.Length > 0 ? int.Parse(args[0]) : 1);
long m = 32 * 4096;
// C[rows, n] = A[rows, k] · B[k, n]; transposed: A is stored [k, rows] (the weight gradients).
(string Name, long Rows, long K, long N, bool Transposed)[] shapes =
[
    ("PoNet fwd  D->3D [M,64]x[64,192]", m, 64, 192, false),
    ("PoNet fwd  out   [M,64]x[64,64]", m, 64, 64, false),
    ("PoNet bwd  dX D->3D [M,192]x[192,64]", m, 192, 64, false),
    ("PoNet bwd  dW D->3D [192,M]x[M,64]", 192, m, 64, true),
    ("PoNet bwd  dW out [64,M]x[M,64]", 64, m, 64, true),
    ("FFN   fwd  in  [M,64]x[64,128]", m, 64, 128, false),
    ("FFN   fwd  out [M,128]x[128,64]", m, 128, 64, false),
    ("FFN   bwd  dW in [128,M]x[M,64]", 128, m, 64, true),
];
Console.WriteLine($"{get_num_threads()} thread(s)");
// Median of 7 timed products after one untimed; printed on the third pass only.
void Time(int pass, string name, Tensor a, Tensor b, double flops)
{
    matmul(a, b).Dispose();
    var times = new List<double>();
    for (int i = 0; i < 7; i++)
    {
        var watch = Stopwatch.StartNew();
        matmul(a, b).Dispose();
        times.Add(watch.Elapsed.TotalSeconds);
    }
    times.Sort();
    double t = times[3];
    if (pass == 2) Console.WriteLine($"{name,-38} {t * 1000,7:F1} ms {flops / t / 1e9,7:F1} GFLOP/s");
}
for (int pass = 0; pass < 3; pass++)
    foreach (var s in shapes)
    {
        using var scope = NewDisposeScope();
        Time(pass, s.Name, s.Transposed ? randn(s.K, s.Rows).t() : randn(s.Rows, s.K), randn(s.K, s.N), 2.0 * s.Rows * s.K * s.N);
    }
// GA's batched products over X (GlobalAggregation.Fast and its node's backward), H = 2 heads.
(string Name, Func<Tensor> A, Func<Tensor> B)[] batched =
[
    ("GA fwd  scores [B,N,64]x[B,64,2]", () => randn(32, 4096, 64), () => randn(32, 2, 64).transpose(1, 2)),
    ("GA fwd  z  [B,2,N]x[B,N,64]", () => randn(32, 4096, 2).transpose(1, 2), () => randn(32, 4096, 64)),
    ("GA fwd  mean [B,1,N]x[B,N,64]", () => randn(32, 1, 4096), () => randn(32, 4096, 64)),
    ("GA bwd  dX [B,N,5]x[B,5,64]", () => randn(32, 4096, 5), () => randn(32, 5, 64)),
];
for (int pass = 0; pass < 3; pass++)
    foreach (var s in batched)
    {
        using var scope = NewDisposeScope();
        var (a, b) = (s.A(), s.B());
        Time(pass, s.Name, a, b, 2.0 * a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]);
    }
