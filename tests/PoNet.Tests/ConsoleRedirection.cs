using Xunit;

namespace PoNet.Tests;

/// <summary>
/// Tests that run the CLI in-process swap Console.Out and Console.Error, which are global: they run
/// alone, after the parallel ones.
/// </summary>
[CollectionDefinition(nameof(ConsoleRedirection), DisableParallelization = true)]
public class ConsoleRedirection;
