using PoNet.Checkpoints;
using PoNet.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PoNet.Tests;

/// <summary>
/// BERT and FNet in HuggingFace layout (docs/MODEL.md §8, §9): HF's exact state-dict keys, and every
/// output against a float64 loop transcription of HF's modeling_bert.py / modeling_fnet.py equations.
/// </summary>
public class ArchitectureTests
{
    static string Temp() => TestTemp.Dir("ponet-arch-");

    internal static PoNetConfig Tiny(string arch, int layers = 2, double dropout = 0.1) => new PoNetConfig
    {
        VocabSize = 40, HiddenSize = 8, NumHiddenLayers = layers, NumAttentionHeads = 2, IntermediateSize = 16,
        MaxPositionEmbeddings = 16, TypeVocabSize = 2, HiddenDropoutProb = dropout, AttentionProbsDropoutProb = dropout,
        ClsTokenId = 1, SepTokenId = 2,
    }.WithArchitecture(arch);

    /// <summary>Two rows, the second padded, token types 0 then 1.</summary>
    static PoNetInputs Inputs()
    {
        var ids = tensor(new long[,] { { 1, 5, 6, 7, 2, 8, 9, 2 }, { 1, 11, 12, 2, 13, 2, 0, 0 } });
        var mask = ids.ne(0).to(ScalarType.Int64);
        var types = tensor(new long[,] { { 0, 0, 0, 0, 0, 1, 1, 1 }, { 0, 0, 0, 0, 1, 1, 0, 0 } });
        return new PoNetInputs(ids, mask, types);
    }

    static readonly string[] LayerKeysBert =
    [
        "attention.self.query.weight", "attention.self.query.bias", "attention.self.key.weight", "attention.self.key.bias",
        "attention.self.value.weight", "attention.self.value.bias", "attention.output.dense.weight", "attention.output.dense.bias",
        "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias", "intermediate.dense.weight", "intermediate.dense.bias",
        "output.dense.weight", "output.dense.bias", "output.LayerNorm.weight", "output.LayerNorm.bias",
    ];

    static readonly string[] LayerKeysFNet =
    [
        "fourier.output.LayerNorm.weight", "fourier.output.LayerNorm.bias", "intermediate.dense.weight", "intermediate.dense.bias",
        "output.dense.weight", "output.dense.bias", "output.LayerNorm.weight", "output.LayerNorm.bias",
    ];

    /// <summary>The keys of HF's BertForPreTraining / FNetForPreTraining state_dict() for one layer (buffers are not persistent there).</summary>
    static IEnumerable<string> HfPreTrainingKeys(string arch)
    {
        var p = arch;
        yield return $"{p}.embeddings.word_embeddings.weight";
        yield return $"{p}.embeddings.position_embeddings.weight";
        yield return $"{p}.embeddings.token_type_embeddings.weight";
        yield return $"{p}.embeddings.LayerNorm.weight";
        yield return $"{p}.embeddings.LayerNorm.bias";
        if (arch == "fnet") { yield return "fnet.embeddings.projection.weight"; yield return "fnet.embeddings.projection.bias"; }
        foreach (var k in arch == "fnet" ? LayerKeysFNet : LayerKeysBert) yield return $"{p}.encoder.layer.0.{k}";
        yield return $"{p}.pooler.dense.weight";
        yield return $"{p}.pooler.dense.bias";
        foreach (var k in new[] { "bias", "transform.dense.weight", "transform.dense.bias", "transform.LayerNorm.weight",
                     "transform.LayerNorm.bias", "decoder.weight", "decoder.bias" })
            yield return "cls.predictions." + k;
        yield return "cls.seq_relationship.weight";
        yield return "cls.seq_relationship.bias";
    }

    [Theory]
    [InlineData("bert", "BertForPreTraining")]
    [InlineData("fnet", "FNetForPreTraining")]
    public void SavedCheckpointsHaveExactlyHfKeysAndReloadIdentically(string arch, string hfClass)
    {
        manual_seed(31);
        var model = new PoNetForPreTraining(Tiny(arch, layers: 1));
        var dir = Temp();
        PoNetCheckpoint.Save(model, dir);
        var (header, _, _) = SafeTensors.ReadHeader(Path.Combine(dir, "model.safetensors"));
        Assert.Equal(HfPreTrainingKeys(arch).Order(StringComparer.Ordinal), header.Select(e => e.Name).Order(StringComparer.Ordinal));
        var shapes = header.ToDictionary(e => e.Name, e => string.Join(",", e.Shape));
        Assert.Equal("2,8", shapes["cls.seq_relationship.weight"]);       // NSP: 2 classes
        Assert.Equal("40,8", shapes["cls.predictions.decoder.weight"]);   // tied copy of the word embeddings

        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        Assert.Equal(arch, (string?)config["model_type"]);
        Assert.Equal(hfClass, (string?)config["architectures"]![0]);
        Assert.False(config.ContainsKey("clsgsepg"));
        Assert.Equal(arch == "fnet", config.ContainsKey("use_tpu_fourier_optimizations"));
        Assert.Equal(arch == "fnet" ? "gelu_new" : "gelu", (string?)config["hidden_act"]);

        var (reloaded, report) = PoNetCheckpoint.Load(dir, c => new PoNetForPreTraining(c));
        Assert.Empty(report.NewlyInitialized);
        Assert.Empty(report.Ignored);
        model.eval();
        reloaded.eval();
        using var _ = no_grad();
        var a = model.forward(Inputs(), null);
        var b = reloaded.forward(Inputs(), null);
        Assert.True(a.Logits.equal(b.Logits).all().item<bool>());
        Assert.True(a.SsoLogits!.equal(b.SsoLogits!).all().item<bool>());
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("fnet")]
    public void FillMaskTakesTheArchitectureFromTheCheckpointsConfig(string arch)
    {
        manual_seed(36);
        var pretraining = new PoNetForPreTraining(Tiny(arch));
        var dir = Temp();
        PoNetCheckpoint.Save(pretraining, dir);
        var vocab = Path.Combine(dir, "vocab.txt");
        File.WriteAllLines(vocab, Enumerable.Range(0, 40).Select(id => id switch
        {
            0 => "[PAD]", 1 => "[CLS]", 2 => "[SEP]", 3 => "[MASK]", 4 => "[UNK]", _ => $"w{id}",
        }));
        var fill = new PoNet.Inference.FillMask(dir, vocab);
        Assert.Equal(arch == "bert" ? "BertForMaskedLM" : "FNetForMaskedLM", fill.Model.Architecture);
        var prediction = Assert.Single(fill.Predict("w5 [MASK] w7", topK: 3, textPair: "w9 w10"));
        Assert.Equal(2, prediction.Position);

        // The pre-training model's own MLM logits at the mask, softmaxed: the same weights, another head class.
        pretraining.eval();
        using var _ = no_grad();
        var ids = tensor(new long[,] { { 1, 5, 3, 7, 2, 9, 10, 2 } });
        var logits = pretraining.forward(new PoNetInputs(ids, ones_like(ids), tensor(new long[,] { { 0, 0, 0, 0, 0, 1, 1, 1 } })), null).Logits;
        var (values, indices) = logits[0, 2].softmax(-1).topk(3);
        Assert.Equal(indices.data<long>().Select(i => (int)i), prediction.Candidates.Select(c => c.TokenId));
        Assert.Equal(values[0].item<float>(), prediction.Candidates[0].Score, 1e-5);
    }

    [Fact]
    public void BertCheckpointsWithGammaBetaLayerNormNamesLoad()
    {
        // bert-base-uncased's original pytorch_model.bin names LayerNorm parameters gamma and beta.
        manual_seed(37);
        var model = new PoNetForPreTraining(Tiny("bert", layers: 1));
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
                if (name.Contains("LayerNorm")) p.normal_(); // not 1 and 0, so a parameter left at its init would show
        var dir = Temp();
        PoNetCheckpoint.Save(model, dir);
        var path = Path.Combine(dir, "model.safetensors");
        var tensors = SafeTensors.Load(path);
        var renamed = tensors.ToDictionary(
            p => p.Key.Contains("LayerNorm.") ? p.Key.Replace("LayerNorm.weight", "LayerNorm.gamma").Replace("LayerNorm.bias", "LayerNorm.beta") : p.Key,
            p => p.Value);
        Assert.Contains("bert.embeddings.LayerNorm.gamma", renamed.Keys);
        SafeTensors.Save(path, renamed);
        var (reloaded, report) = PoNetCheckpoint.Load(dir, c => new PoNetForPreTraining(c));
        Assert.Empty(report.NewlyInitialized);
        var original = model.state_dict();
        foreach (var (name, p) in reloaded.state_dict())
            Assert.True(p.equal(original[name]).all().item<bool>(), name);
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("fnet")]
    public void KeyReportsAreExactAndOtherHeadsAreReported(string arch)
    {
        manual_seed(38);
        var dir = Temp();
        PoNetCheckpoint.Save(new PoNetForPreTraining(Tiny(arch, layers: 1)), dir);

        // Another head: the pre-training heads are ignored, the classifier is new; the encoder loads.
        var (classifier, report) = PoNetCheckpoint.Load(dir, c => new PoNetForSequenceClassification(c));
        Assert.Equal(["classifier.bias", "classifier.weight"], report.NewlyInitialized.Order());
        Assert.Contains("cls.seq_relationship.weight", report.Ignored);
        Assert.DoesNotContain(report.Ignored, k => k.StartsWith(arch + ".", StringComparison.Ordinal) && !k.Contains("pooler"));

        // A missing and a mis-shaped encoder key are both named, and nothing is loaded.
        var path = Path.Combine(dir, "model.safetensors");
        var tensors = SafeTensors.Load(path);
        var missing = $"{arch}.encoder.layer.0.intermediate.dense.bias";
        var misShaped = $"{arch}.encoder.layer.0.output.dense.weight";
        tensors.Remove(missing);
        tensors[misShaped] = zeros(8, 15);
        SafeTensors.Save(path, tensors);
        var e = Assert.Throws<PoNetInputException>(() => PoNetCheckpoint.Load(dir, c => new PoNetForPreTraining(c)));
        Assert.Contains($"missing keys (1): {missing}", e.Message);
        Assert.Contains($"mis-shaped keys (1): {misShaped}: checkpoint [8, 15], model [8, 16]", e.Message);
        Assert.Contains(arch == "bert" ? "BertForPreTraining" : "FNetForPreTraining", e.Message);
    }

    [Fact]
    public void HfConfigsDeserialiseAndRoundTrip()
    {
        // FNetConfig as HF writes it: no attention heads, a hidden size no head count divides here.
        const string fnetJson = """
            {"architectures": ["FNetForPreTraining"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "gelu_new",
             "hidden_dropout_prob": 0.1, "hidden_size": 20, "initializer_range": 0.02, "intermediate_size": 40,
             "layer_norm_eps": 1e-12, "max_position_embeddings": 32, "model_type": "fnet", "num_hidden_layers": 1,
             "pad_token_id": 3, "tokenizer_class": "FNetTokenizer", "tpu_short_seq_length": 512, "type_vocab_size": 4,
             "use_tpu_fourier_optimizations": false, "vocab_size": 50}
            """;
        var fnet = PoNetConfig.FromJson(fnetJson);
        Assert.Equal(ModelFamily.FNet, fnet.Family);
        Assert.False(fnet.UseTpuFourierOptimizations);
        var written = System.Text.Json.Nodes.JsonNode.Parse(fnet.ToJson())!.AsObject();
        foreach (var key in new[] { "bos_token_id", "eos_token_id", "tokenizer_class", "tpu_short_seq_length", "use_tpu_fourier_optimizations" })
            Assert.True(written.ContainsKey(key), key);
        Assert.False(written.ContainsKey("num_attention_heads"));
        var model = new PoNetForPreTraining(fnet);
        Assert.Equal(new long[] { 4, 20 }, model.state_dict()["fnet.embeddings.token_type_embeddings.weight"].shape);

        const string bertJson = """
            {"architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_size": 8,
             "model_type": "bert", "num_attention_heads": 2, "num_hidden_layers": 1, "intermediate_size": 16, "vocab_size": 30,
             "max_position_embeddings": 16, "type_vocab_size": 2, "position_embedding_type": "absolute", "use_cache": true}
            """;
        var bert = PoNetConfig.FromJson(bertJson);
        Assert.Equal("BertForMaskedLM", new PoNetForMaskedLM(bert).Architecture);
        Assert.DoesNotContain("clsgsepg", bert.ToJson());

        var e = Assert.Throws<PoNetInputException>(() => PoNetConfig.FromJson(bertJson.Replace("\"bert\"", "\"gpt2\""), "x/config.json"));
        Assert.Equal("x/config.json: 'model_type' = \"gpt2\": expected one of \"ponet\", \"bert\", \"fnet\"", e.Message);
    }

    [Theory]
    [InlineData("bert", "ponet")]
    [InlineData("ponet", "bert")]
    [InlineData("fnet", "bert")]
    public void ACheckpointOfAnotherArchitectureIsRejectedInOneLineNamingFileAndKey(string saved, string claimed)
    {
        manual_seed(32);
        var dir = Temp();
        PoNetCheckpoint.Save(new PoNetForPreTraining(Tiny(saved, layers: 1)), dir);
        var configPath = Path.Combine(dir, "config.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        json["model_type"] = claimed;
        json["num_attention_heads"] = 2;
        File.WriteAllText(configPath, json.ToJsonString());
        var e = Assert.Throws<PoNetInputException>(() => PoNetCheckpoint.Load(dir, c => new PoNetForPreTraining(c)));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains($"key '{saved}.", e.Message);
        Assert.Contains($"\"{claimed}\"", e.Message);
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("fnet")]
    public void PreTrainingOutputsMatchALoopTranscriptionOfHf(string arch)
    {
        manual_seed(33);
        var config = Tiny(arch);
        var model = new PoNetForPreTraining(config);
        model.eval();
        var inputs = Inputs();
        PoNetTaskOutput output;
        using (no_grad()) output = model.forward(inputs, null);
        var w = new Weights(model.state_dict(), arch);
        var (hidden, pooled) = HfEncoder(w, config, arch, inputs);
        Golden.AssertClose(ToTensor(hidden), output.Base.LastHiddenState, 1e-5, 1e-5, $"{arch} last_hidden_state");
        Golden.AssertClose(ToTensor(pooled), output.Base.PoolerOutput!, 1e-5, 1e-5, $"{arch} pooler_output");

        // cls.predictions: LayerNorm(act(dense(h))) · word_embeddingsᵀ + bias; cls.seq_relationship on the pooled output.
        int b = hidden.GetLength(0), n = hidden.GetLength(1);
        var mlm = new double[b, n, config.VocabSize];
        var nsp = new double[b, 2];
        for (int i = 0; i < b; i++)
        {
            for (int l = 0; l < n; l++)
            {
                var t = LayerNorm(Act(Linear(Row(hidden, i, l), w.M("cls.predictions.transform.dense.weight"), w.V("cls.predictions.transform.dense.bias")), config.HiddenAct),
                    w.V("cls.predictions.transform.LayerNorm.weight"), w.V("cls.predictions.transform.LayerNorm.bias"), config.LayerNormEps);
                var logits = Linear(t, w.M($"{arch}.embeddings.word_embeddings.weight"), w.V("cls.predictions.bias"));
                for (int v = 0; v < logits.Length; v++) mlm[i, l, v] = logits[v];
            }
            var s = Linear(Row(pooled, i), w.M("cls.seq_relationship.weight"), w.V("cls.seq_relationship.bias"));
            nsp[i, 0] = s[0];
            nsp[i, 1] = s[1];
        }
        Golden.AssertClose(ToTensor(mlm), output.Logits, 1e-5, 1e-5, $"{arch} mlm_logits");
        Golden.AssertClose(tensor(nsp), output.SsoLogits!, 1e-5, 1e-5, $"{arch} nsp_logits");
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("fnet")]
    public void SequenceClassificationMatchesALoopTranscriptionOfHf(string arch)
    {
        manual_seed(34);
        var config = Tiny(arch);
        config.SetNumLabels(3);
        var model = new PoNetForSequenceClassification(config);
        Assert.Equal(arch == "bert" ? "BertForSequenceClassification" : "FNetForSequenceClassification", model.Architecture);
        model.eval();
        PoNetTaskOutput output;
        using (no_grad()) output = model.forward(Inputs(), null);
        var w = new Weights(model.state_dict(), arch);
        var (_, pooled) = HfEncoder(w, config, arch, Inputs());
        var expected = new double[2, 3];
        for (int i = 0; i < 2; i++)
        {
            var y = Linear(Row(pooled, i), w.M("classifier.weight"), w.V("classifier.bias"));
            for (int c = 0; c < 3; c++) expected[i, c] = y[c];
        }
        Golden.AssertClose(tensor(expected), output.Logits, 1e-5, 1e-5, $"{arch} seqcls_logits");
    }

    // ---- HF's equations, written out in float64 loops ----

    sealed class Weights(Dictionary<string, Tensor> state, string prefix)
    {
        public string Prefix { get; } = prefix;
        public double[,] M(string key)
        {
            var t = state[key].to(ScalarType.Float64);
            var d = t.data<double>().ToArray();
            int r = (int)t.shape[0], c = (int)t.shape[1];
            var m = new double[r, c];
            for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) m[i, j] = d[i * c + j];
            return m;
        }
        public double[] V(string key) => state[key].to(ScalarType.Float64).data<double>().ToArray();
    }

    static (double[,,] hidden, double[,] pooled) HfEncoder(Weights w, PoNetConfig config, string arch, PoNetInputs inputs)
    {
        var ids = inputs.InputIds.data<long>().ToArray();
        var types = inputs.TokenTypeIds!.data<long>().ToArray();
        var mask = inputs.AttentionMask!.data<long>().ToArray();
        int b = (int)inputs.InputIds.shape[0], n = (int)inputs.InputIds.shape[1], d = config.HiddenSize;
        string p = arch;
        var word = w.M($"{p}.embeddings.word_embeddings.weight");
        var pos = w.M($"{p}.embeddings.position_embeddings.weight");
        var tt = w.M($"{p}.embeddings.token_type_embeddings.weight");
        var hidden = new double[b, n, d];
        var pooled = new double[b, d];
        for (int i = 0; i < b; i++)
        {
            // Embeddings: inputs_embeds + token_type_embeddings + position_embeddings → LayerNorm (→ projection for FNet).
            var x = new double[n][];
            for (int l = 0; l < n; l++)
            {
                var e = new double[d];
                for (int c = 0; c < d; c++) e[c] = word[ids[i * n + l], c] + tt[types[i * n + l], c] + pos[l, c];
                e = LayerNorm(e, w.V($"{p}.embeddings.LayerNorm.weight"), w.V($"{p}.embeddings.LayerNorm.bias"), config.LayerNormEps);
                if (arch == "fnet") e = Linear(e, w.M("fnet.embeddings.projection.weight"), w.V("fnet.embeddings.projection.bias"));
                x[l] = e;
            }
            for (int layer = 0; layer < config.NumHiddenLayers; layer++)
            {
                string k = $"{p}.encoder.layer.{layer}.";
                double[][] a;
                if (arch == "bert")
                {
                    // BertSelfAttention: scores = q·kᵀ/√dh + (1 − mask)·finfo.min, softmax, · v; BertSelfOutput.
                    int h = config.NumAttentionHeads, dh = d / h;
                    var q = x.Select(r => Linear(r, w.M(k + "attention.self.query.weight"), w.V(k + "attention.self.query.bias"))).ToArray();
                    var kk = x.Select(r => Linear(r, w.M(k + "attention.self.key.weight"), w.V(k + "attention.self.key.bias"))).ToArray();
                    var v = x.Select(r => Linear(r, w.M(k + "attention.self.value.weight"), w.V(k + "attention.self.value.bias"))).ToArray();
                    var context = new double[n][];
                    for (int l = 0; l < n; l++) context[l] = new double[d];
                    for (int head = 0; head < h; head++)
                        for (int l = 0; l < n; l++)
                        {
                            var s = new double[n];
                            for (int j = 0; j < n; j++)
                            {
                                double dot = 0;
                                for (int c = 0; c < dh; c++) dot += q[l][head * dh + c] * kk[j][head * dh + c];
                                s[j] = dot / Math.Sqrt(dh) + (1 - mask[i * n + j]) * (double)float.MinValue;
                            }
                            var max = s.Max();
                            var e = s.Select(z => Math.Exp(z - max)).ToArray();
                            var sum = e.Sum();
                            for (int j = 0; j < n; j++)
                                for (int c = 0; c < dh; c++) context[l][head * dh + c] += e[j] / sum * v[j][head * dh + c];
                        }
                    a = new double[n][];
                    for (int l = 0; l < n; l++)
                        a[l] = LayerNorm(Add(Linear(context[l], w.M(k + "attention.output.dense.weight"), w.V(k + "attention.output.dense.bias")), x[l]),
                            w.V(k + "attention.output.LayerNorm.weight"), w.V(k + "attention.output.LayerNorm.bias"), config.LayerNormEps);
                }
                else
                {
                    // FNetBasicFourierTransform: real part of fftn over (sequence, hidden); FNetBasicOutput: LayerNorm(x + f).
                    a = new double[n][];
                    for (int kf = 0; kf < n; kf++)
                    {
                        var f = new double[d];
                        for (int hf = 0; hf < d; hf++)
                            for (int l = 0; l < n; l++)
                                for (int c = 0; c < d; c++)
                                    f[hf] += x[l][c] * Math.Cos(2 * Math.PI * ((double)kf * l / n + (double)hf * c / d));
                        a[kf] = LayerNorm(Add(x[kf], f), w.V(k + "fourier.output.LayerNorm.weight"), w.V(k + "fourier.output.LayerNorm.bias"), config.LayerNormEps);
                    }
                }
                // Intermediate (hidden_act) and output: LayerNorm(dense(act(dense(a))) + a).
                for (int l = 0; l < n; l++)
                {
                    var inter = Act(Linear(a[l], w.M(k + "intermediate.dense.weight"), w.V(k + "intermediate.dense.bias")), config.HiddenAct);
                    x[l] = LayerNorm(Add(Linear(inter, w.M(k + "output.dense.weight"), w.V(k + "output.dense.bias")), a[l]),
                        w.V(k + "output.LayerNorm.weight"), w.V(k + "output.LayerNorm.bias"), config.LayerNormEps);
                }
            }
            for (int l = 0; l < n; l++) for (int c = 0; c < d; c++) hidden[i, l, c] = x[l][c];
            var pool = Linear(x[0], w.M($"{p}.pooler.dense.weight"), w.V($"{p}.pooler.dense.bias"));
            for (int c = 0; c < d; c++) pooled[i, c] = Math.Tanh(pool[c]);
        }
        return (hidden, pooled);
    }

    static double[] Linear(double[] x, double[,] w, double[] b)
    {
        var y = new double[w.GetLength(0)];
        for (int o = 0; o < y.Length; o++)
        {
            y[o] = b[o];
            for (int i = 0; i < x.Length; i++) y[o] += w[o, i] * x[i];
        }
        return y;
    }

    static double[] Add(double[] a, double[] b) => a.Zip(b, (x, y) => x + y).ToArray();

    static double[] LayerNorm(double[] x, double[] gamma, double[] beta, double eps)
    {
        double mean = x.Average(), variance = x.Select(v => (v - mean) * (v - mean)).Average();
        return x.Select((v, i) => (v - mean) / Math.Sqrt(variance + eps) * gamma[i] + beta[i]).ToArray();
    }

    /// <summary>HF's ACT2FN: "gelu" = x·Φ(x) with the erf, "gelu_new" = the tanh form.</summary>
    static double[] Act(double[] x, string name) => x.Select(v => name switch
    {
        "gelu" => 0.5 * v * (1 + Erf(v / Math.Sqrt(2))),
        "gelu_new" => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))),
        _ => throw new ArgumentException(name),
    }).ToArray();

    /// <summary>erf by its Maclaurin series, accurate to ~1e-9 for |x| below 4; beyond, erfc(4) = 1.5e-8 is below the tolerance.</summary>
    static double Erf(double x)
    {
        if (Math.Abs(x) >= 4) return Math.Sign(x);
        double sum = 0, term = x;
        for (int k = 0; k < 200; k++)
        {
            sum += term / (2 * k + 1);
            term *= -x * x / (k + 1);
            if (Math.Abs(term) < 1e-17) break;
        }
        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    static double[] Row(double[,,] t, int i, int l) => Enumerable.Range(0, t.GetLength(2)).Select(c => t[i, l, c]).ToArray();
    static double[] Row(double[,] t, int i) => Enumerable.Range(0, t.GetLength(1)).Select(c => t[i, c]).ToArray();

    static Tensor ToTensor(double[,,] t)
    {
        int a = t.GetLength(0), b = t.GetLength(1), c = t.GetLength(2);
        var flat = new double[a * b * c];
        for (int i = 0; i < a; i++) for (int j = 0; j < b; j++) for (int k = 0; k < c; k++) flat[(i * b + j) * c + k] = t[i, j, k];
        return tensor(flat, ScalarType.Float64).view(a, b, c);
    }

    static Tensor ToTensor(double[,] t) => tensor(t);
}

// torch's global generator is process-wide: run alone.
[Collection(nameof(GlobalStateTests))]
public class BertAttentionDropoutTests
{
    static PoNetInputs Inputs() => new(tensor(new long[,] { { 1, 5, 6, 7, 2, 8, 9, 2 }, { 1, 11, 12, 2, 13, 2, 0, 0 } }),
        tensor(new long[,] { { 1, 1, 1, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1, 1, 0, 0 } }));

    [Fact]
    public void BertAttentionDropsProbabilitiesInTrainingAndTorchSeedFixesTheMasks()
    {
        var config = ArchitectureTests.Tiny("bert", dropout: 0);
        config.AttentionProbsDropoutProb = 0.5;
        manual_seed(35);
        var model = new PoNetForPreTraining(config);
        model.train();
        Tensor Run(long seed) { manual_seed(seed); using var _ = no_grad(); return model.forward(Inputs(), null).Base.LastHiddenState; }
        Assert.True(Run(1).equal(Run(1)).all().item<bool>(), "torch.manual_seed fixes the masks");
        Assert.False(Run(1).allclose(Run(2)), "a different seed drops other probabilities");
        model.eval();
        using var eval = no_grad();
        Assert.True(model.forward(Inputs(), null).Base.LastHiddenState.equal(model.forward(Inputs(), null).Base.LastHiddenState).all().item<bool>());
    }

}
