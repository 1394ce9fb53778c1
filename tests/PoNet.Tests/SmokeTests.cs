using TorchSharp;
using Xunit;

namespace PoNet.Tests;

public class NativeLoadingTests
{
    [Fact]
    public void LibTorchLoadsAndComputes()
    {
        using var t = torch.arange(6, dtype: torch.float32).reshape(2, 3);
        Assert.Equal(15f, t.sum().item<float>());
    }
}
