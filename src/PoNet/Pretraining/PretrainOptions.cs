using System.Text.Json;
using System.Text.Json.Serialization;

namespace PoNet.Pretraining;

/// <summary>Everything a pre-training run depends on; saved with each checkpoint so --resume needs nothing else.</summary>
public sealed record PretrainOptions
{
    public required string Corpus { get; init; }
    /// <summary>The run's folder: checkpoint/, model/, results.json, curves.csv.</summary>
    public required string Output { get; init; }
    /// <summary>vocab.txt, tokenizer.json or a folder with one; defaults to the --init folder.</summary>
    public string? Vocab { get; init; }
    /// <summary>Start from this checkpoint instead of random weights (its size options win).</summary>
    public string? Init { get; init; }

    /// <summary>The architecture trained from scratch (HF model_type): ponet, bert or fnet; with --init, the checkpoint's.</summary>
    public string Arch { get; init; } = "ponet";
    /// <summary>mlm, mlm+nsp or mlm+sso; null: each architecture's published one (PoNet mlm+sso, BERT and FNet mlm+nsp).</summary>
    public string? Objective { get; init; }

    public int Layers { get; init; } = 4;
    public int Hidden { get; init; } = 256;
    public int Heads { get; init; } = 4;
    public int Ffn { get; init; } = 1024;
    public double Dropout { get; init; } = 0.1;

    public int Steps { get; init; } = 1000;
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 1e-4;
    public int Warmup { get; init; } = 100;
    public double WeightDecay { get; init; } = 0;
    /// <summary>Global gradient-norm clip (HF Trainer's max_grad_norm, which the reference used); 0 turns it off.</summary>
    public double ClipGradNorm { get; init; } = 1.0;
    public bool BFloat16 { get; init; }

    public int EvalEvery { get; init; } = 200;
    /// <summary>Held-out examples per evaluation (the first ones of the held-out stream; masks fixed).</summary>
    public int EvalExamples { get; init; } = 256;
    /// <summary>Checkpoint every this many steps (0: at evaluations only).</summary>
    public int SaveEvery { get; init; }

    public PretrainingDataOptions Data { get; init; } = new() { MaxLength = 128 };
    public long Seed => Data.Seed;

    public void Validate()
    {
        Data.Validate();
        void Positive(string name, double value)
        {
            if (!(value > 0)) throw new PoNetInputException($"--{name} {value}: expected a positive number");
        }
        Positive("steps", Steps);
        Positive("batch-size", BatchSize);
        Positive("lr", LearningRate);
        Positive("eval-every", EvalEvery);
        Positive("eval-examples", EvalExamples);
        Positive("layers", Layers);
        Positive("hidden", Hidden);
        Positive("heads", Heads);
        Positive("ffn", Ffn);
        if (Warmup < 0) throw new PoNetInputException($"--warmup {Warmup}: expected >= 0");
        if (SaveEvery < 0) throw new PoNetInputException($"--save-every {SaveEvery}: expected >= 0");
        if (WeightDecay < 0) throw new PoNetInputException($"--weight-decay {WeightDecay}: expected >= 0");
        if (ClipGradNorm < 0) throw new PoNetInputException($"--clip {ClipGradNorm}: expected >= 0");
        if (Dropout is < 0 or >= 1) throw new PoNetInputException($"--dropout {Dropout}: expected a probability in [0, 1)");
        if (Objective is not (null or "mlm" or "mlm+nsp" or "mlm+sso"))
            throw new PoNetInputException($"--objective {Objective}: expected mlm, mlm+nsp or mlm+sso");
        if (Init is null && Hidden % Heads != 0) throw new PoNetInputException($"--hidden {Hidden} is not divisible by --heads {Heads}");
    }

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}

/// <summary>One optimiser step: <see cref="Step"/> is the number of steps done after it (1-based).</summary>
public sealed record PretrainStepRecord(int Step, double LearningRate, double Loss, double MlmLoss, double SsoLoss, long Tokens);

/// <summary>Held-out metrics after <see cref="Step"/> steps (0: before training).</summary>
public sealed record PretrainEvalRecord(int Step, double MlmLoss, double MlmAccuracy, double SsoAccuracy);
