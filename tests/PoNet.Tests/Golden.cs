using PoNet.Checkpoints;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PoNet.Tests;

/// <summary>The reference implementation's outputs (copied from the project's shared golden data).</summary>
public static class Golden
{
    public static string Dir(string config) => Path.Combine(AppContext.BaseDirectory, "Golden", config);

    public static string Batch(string config, string batch) => Path.Combine(Dir(config), "batches", batch + ".safetensors");

    public static Dictionary<string, Tensor> Read(string path) => SafeTensors.Load(path);

    /// <summary>|a − b| ≤ atol + rtol·|b| everywhere, with the worst element named on failure.</summary>
    public static void AssertClose(Tensor expected, Tensor actual, double atol, double rtol, string what)
    {
        Assert.True(expected.shape.SequenceEqual(actual.shape),
            $"{what}: shape [{string.Join(",", actual.shape)}], expected [{string.Join(",", expected.shape)}]");
        using var scope = NewDisposeScope();
        var e = expected.to(ScalarType.Float64);
        var a = actual.detach().to(ScalarType.Float64);
        var excess = (a - e).abs() - (atol + rtol * e.abs());
        var worst = excess.max().item<double>();
        if (worst > 0)
        {
            var idx = excess.argmax().item<long>();
            Assert.Fail($"{what}: |diff| exceeds {atol} + {rtol}·|ref| by {worst:G3} at flat index {idx} " +
                        $"(got {a.flatten()[idx].item<double>():G9}, expected {e.flatten()[idx].item<double>():G9})");
        }
    }
}
