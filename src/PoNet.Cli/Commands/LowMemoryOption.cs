using System.CommandLine;

namespace PoNet.Cli.Commands;

/// <summary>`--low-memory`: PoNet's LRA mixer as one autograd node that recomputes instead of keeping (docs/MODEL.md §10.8).</summary>
internal static class LowMemoryOption
{
    public static Option<bool> Create() => new("--low-memory")
    {
        Description = "PoNet's LRA mixer keeps less for backward and recomputes it (same values and gradients): " +
                      "about 28 % lower peak memory at N = 4096, about 20 % more CPU time (docs/MODEL.md §10.8)",
    };
}
