using PoNet.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PoNet.Tests;

/// <summary>
/// The mixer against a plain float64 loop transcription of docs/MODEL.md §1, for both clsgsepg settings
/// (the golden data covers only clsgsepg = true).
/// </summary>
public class MixerTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void MixerMatchesALoopTranscriptionOfTheSpec(bool clsgsepg)
    {
        manual_seed(7);
        var config = TinyModels.Config(vocab: 120, hidden: 8, heads: 2, layers: 1, clsgsepg: clsgsepg);
        var model = new PoNetForPreTraining(config);
        model.eval();
        // Two rows: specials, text, padding; second row does not start with [CLS].
        var ids = tensor(new long[,] { { 101, 5, 6, 7, 102, 8, 9, 102, 0, 0 }, { 4, 5, 102, 6, 7, 8, 9, 10, 11, 0 } });
        var mask = ids.ne(0).to(ScalarType.Int64);
        using var trace = new PoNetTrace();
        using (no_grad()) model.forward(new PoNetInputs(ids, mask) { Trace = trace }, null);

        var x = trace.HiddenStates[0].to(ScalarType.Float64);
        var state = model.state_dict();
        double[,] W(string name) => ToMatrix(state[$"ponet.encoder.layer.0.attention.self.{name}.weight"]);
        double[] Bias(string name) => state[$"ponet.encoder.layer.0.attention.self.{name}.bias"].to(ScalarType.Float64).data<double>().ToArray();
        var expected = Naive(x, ids, mask, W("dense_q"), Bias("dense_q"), W("dense_k"), Bias("dense_k"), W("dense_o"), Bias("dense_o"),
            W("dense_segment"), Bias("dense_segment"), W("dense_local"), Bias("dense_local"), heads: 2, clsgsepg);
        Golden.AssertClose(expected, trace.AttnContext[0], 1e-5, 1e-5, $"mixer output (clsgsepg={clsgsepg})");
    }

    static double[,] ToMatrix(Tensor t)
    {
        var d = t.to(ScalarType.Float64).data<double>().ToArray();
        int rows = (int)t.shape[0], cols = (int)t.shape[1];
        var m = new double[rows, cols];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) m[i, j] = d[i * cols + j];
        return m;
    }

    static Tensor Naive(Tensor xT, Tensor idsT, Tensor maskT, double[,] wq, double[] bq, double[,] wk, double[] bk, double[,] wo, double[] bo,
        double[,] ws, double[] bs, double[,] wl, double[] bl, int heads, bool clsgsepg)
    {
        int B = (int)xT.shape[0], N = (int)xT.shape[1], D = (int)xT.shape[2], dh = D / heads;
        var xs = xT.data<double>().ToArray();
        var ids = idsT.data<long>().ToArray();
        var mask = maskT.data<long>().ToArray();
        var y = new double[B * N * D];
        double[] Proj(int b, int l, double[,] w, double[] bias)
        {
            var r = new double[D];
            for (int o = 0; o < D; o++)
            {
                r[o] = bias[o];
                for (int i = 0; i < D; i++) r[o] += xs[(b * N + l) * D + i] * w[o, i];
            }
            return r;
        }
        for (int b = 0; b < B; b++)
        {
            var q = Enumerable.Range(0, N).Select(l => Proj(b, l, wq, bq)).ToArray();
            var k = Enumerable.Range(0, N).Select(l => Proj(b, l, wk, bk)).ToArray();
            var o = Enumerable.Range(0, N).Select(l => Proj(b, l, wo, bo)).ToArray();
            var s0 = Enumerable.Range(0, N).Select(l => Proj(b, l, ws, bs)).ToArray();
            var l0 = Enumerable.Range(0, N).Select(l => Proj(b, l, wl, bl)).ToArray();
            bool Valid(int l) => mask[b * N + l] != 0;
            bool Special(int l) => ids[b * N + l] is 101 or 102;
            // Segments by the §2 rule.
            var seg = new long[N];
            long acc = 0;
            for (int l = 0; l < N; l++)
            {
                acc += (Special(l) ? 1 : 0) + (l > 0 && Special(l - 1) ? 1 : 0);
                seg[l] = acc - (ids[b * N] == 101 ? 1 : 0);
            }
            var g2 = new double[D];
            int count = Enumerable.Range(0, N).Count(Valid);
            for (int h = 0; h < heads; h++)
            {
                var g = new double[dh];
                for (int l = 0; l < N; l++) if (Valid(l)) for (int j = 0; j < dh; j++) g[j] += q[l][h * dh + j] / count;
                var s = new double[N];
                for (int l = 0; l < N; l++)
                {
                    for (int j = 0; j < dh; j++) s[l] += g[j] * k[l][h * dh + j];
                    s[l] = s[l] / Math.Sqrt(dh) + (Valid(l) ? 0 : -10000);
                }
                var max = s.Max();
                var p = s.Select(v => Math.Exp(v - max)).ToArray();
                var z = p.Sum();
                for (int l = 0; l < N; l++) for (int j = 0; j < dh; j++) g2[h * dh + j] += p[l] / z * k[l][h * dh + j];
            }
            for (int l = 0; l < N; l++)
            {
                if (!Valid(l)) continue; // Y[pad] = 0
                for (int c = 0; c < D; c++)
                {
                    double S = double.NegativeInfinity, L = double.NegativeInfinity;
                    for (int j = 0; j < N; j++)
                        if (seg[j] == seg[l]) S = Math.Max(S, Valid(j) ? s0[j][c] : -10000);
                    for (int j = Math.Max(0, l - 1); j <= Math.Min(N - 1, l + 1); j++)
                        L = Math.Max(L, Valid(j) && !(clsgsepg && Special(j)) ? l0[j][c] : -10000);
                    if (clsgsepg && Special(l)) { S = 0; L = 0; }
                    y[(b * N + l) * D + c] = (g2[c] + S) * o[l][c] + L;
                }
            }
        }
        return tensor(y, ScalarType.Float64).view(B, N, D);
    }

    [Fact]
    public void BFloat16ScopeApproximatesFloat32AndStillTrains()
    {
        var (model, _) = Checkpoints.PoNetCheckpoint.Load(Golden.Dir("cfgB"), c => new PoNetForPreTraining(c));
        model.eval();
        var batch = Golden.Read(Golden.Batch("cfgB", "b0"));
        var inputs = new PoNetInputs(batch["input.input_ids"], batch["input.attention_mask"], batch["input.token_type_ids"]);
        Tensor hidden;
        using (ComputePrecision.BFloat16())
        {
            Assert.True(ComputePrecision.IsBFloat16);
            var output = model.forward(inputs, new PoNetLabels(SsoLabels: tensor(new long[] { 0, 1, 2 })));
            hidden = output.Base.LastHiddenState.detach();
            Assert.Equal(ScalarType.Float32, hidden.dtype);
            output.Loss!.backward();
        }
        Assert.False(ComputePrecision.IsBFloat16);
        var grad = model.named_parameters().First(p => p.name.EndsWith("dense_q.weight", StringComparison.Ordinal)).parameter.grad;
        Assert.True(grad is not null && grad.abs().sum().item<float>() > 0, "gradients reach the float32 parameters");
        var reference = batch["output.last_hidden_state"];
        var relative = (hidden - reference).norm().item<float>() / reference.norm().item<float>();
        Assert.InRange(relative, 1e-5, 0.05); // not float32-exact, but close
    }

    [Fact]
    public void DropoutActsOnlyInTrainingMode()
    {
        manual_seed(1);
        var model = new PoNetForSequenceClassification(TinyModels.Config(dropout: 0.3));
        var inputs = new PoNetInputs(tensor(new long[,] { { 101, 5, 6, 102, 7, 102 } }));
        Tensor Run() { using var _ = no_grad(); return model.forward(inputs, null).Logits; }
        model.eval();
        var a = Run();
        Assert.True(a.equal(Run()).all().item<bool>(), "eval mode is deterministic");
        model.train();
        Assert.False(a.allclose(Run()), "train mode applies dropout");
        model.eval();
        Assert.True(a.equal(Run()).all().item<bool>());
    }
}

/// <summary>Changes the global default device, so it must not run beside other tests.</summary>
[CollectionDefinition(nameof(GlobalStateTests), DisableParallelization = true)]
public class GlobalStateCollection;

[Collection(nameof(GlobalStateTests))]
public class GlobalStateTests
{
    [Fact]
    public void BaseModelHasThePublishedParameterCount()
    {
        // docs/MODEL.md §3: 123.66 M (PoNetModel), 124.28 M with the pre-training heads (decoder tied).
        var device = get_default_device();
        set_default_device(new Device("meta"));
        try
        {
            var config = new PoNetConfig();
            long Count(nn.Module m) => m.parameters().Sum(p => p.numel());
            Assert.Equal(123.66, Math.Round(Count(new PoNetModel(config)) / 1e6, 2));
            Assert.Equal(124.28, Math.Round(Count(new PoNetForPreTraining(config)) / 1e6, 2));
        }
        finally
        {
            set_default_device(device);
        }
    }
}
