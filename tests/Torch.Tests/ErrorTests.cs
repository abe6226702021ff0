using FluentAssertions;
using Xunit;
using static Reweighting.Torch.Tests.TestSupport;
using static Reweighting.Torch.Torch;

namespace Reweighting.Torch.Tests;

/// <summary>Bad input becomes a C# exception with libtorch's message; the process survives.</summary>
public sealed class ErrorTests
{
    [Fact]
    public void A_shape_mismatch_raises_a_TorchException_with_libtorchs_text_and_the_shapes()
    {
        using var scope = DisposeScope.Open();
        var a = Torch.Ones([2, 3]);
        var b = Torch.Ones([4, 5]);
        var ex = Assert.Throws<TorchException>(() => a.Matmul(b));
        ex.Message.Should().Contain("mat1 and mat2 shapes cannot be multiplied"); // libtorch's own words
        ex.Message.Should().Contain("[2, 3]").And.Contain("[4, 5]");
        ex.Message.Should().NotContain("frame #", "the C++ backtrace is noise for users");

        var add = Assert.Throws<TorchException>(() => a + Torch.Ones([4]));
        add.Message.Should().Contain("must match the size of tensor b").And.Contain("[2, 3]").And.Contain("[4]");

        // The process and the binding keep working afterwards.
        (a + a).Sum().ToDouble().Should().Be(12);
    }

    [Fact]
    public void Many_kinds_of_bad_input_fail_cleanly()
    {
        using var scope = DisposeScope.Open();
        var x = Torch.Ones([2, 3]);
        Assert.Throws<TorchException>(() => x.View(4, 2)).Message.Should().Contain("view([4, 2])");
        Assert.Throws<TorchException>(() => x.Narrow(1, 2, 5));
        Assert.Throws<TorchException>(() => x.Select(0, 7)).Message.Should().Contain("out of range");
        Assert.Throws<TorchException>(() => x.IndexSelect(0, L([9])));
        Assert.Throws<TorchException>(() => x.TopK(10, 1)).Message.Should().Contain("topk(k=10)");
        Assert.Throws<TorchException>(() => Functional.CrossEntropy(x, L([0, 7]))).Message.Should().Contain("cross_entropy");
        Assert.Throws<TorchException>(() => Functional.Embedding(L([5]), x));
        Assert.Throws<TorchException>(() => x.Backward()).Message.Should().Contain("does not require grad");
        Assert.Throws<TorchException>(() => Cat([x, Torch.Ones([2, 3, 4])]));
        Assert.Throws<ArgumentException>(() => FromArray(new float[] { 1, 2, 3 }, 2, 2));
        Assert.Throws<ArgumentException>(() => x.ToArray<double>()).Message.Should().Contain("Float32");
        Assert.Throws<ArgumentOutOfRangeException>(() => Functional.Dropout(x, 1.5, true));
        (x * 2).Sum().ToDouble().Should().Be(12);
    }

    [Fact]
    public void Using_a_disposed_tensor_raises_ObjectDisposedException()
    {
        var a = Torch.Ones([2]);
        var b = Torch.Ones([2]);
        a.Dispose();
        a.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => a + b);
        Assert.Throws<ObjectDisposedException>(() => b + a);
        Assert.Throws<ObjectDisposedException>(() => a.Shape);
        Assert.Throws<ObjectDisposedException>(() => Cat([b, a]));
        a.IsDisposed.Should().BeTrue();
        a.ToString().Should().Be("Tensor(disposed)");
        (b + b).ToArray<float>().Should().Equal(2, 2);
        b.Dispose();
    }

    [Fact]
    public void Asking_for_cuda_without_cuda_explains_how_to_get_it()
    {
        if (Cuda.IsAvailable) return; // only meaningful on CPU machines
        var ex = Assert.Throws<TorchException>(() => Torch.Ones([1], device: Device.Cuda()));
        ex.Message.Should().Contain("cuda:0");
        ex.Message.Should().Match(m => m.Contains("make native TORCH_DIR") || m.Contains("no CUDA device"));
    }

    [Fact]
    public void Device_strings_parse_and_reject_garbage()
    {
        Device.Parse("cpu").Should().Be(Device.Cpu);
        Device.Parse("cuda").Should().Be(Device.Cuda(0));
        Device.Parse("CUDA:3").Should().Be(Device.Cuda(3));
        Device.Cuda(2).ToString().Should().Be("cuda:2");
        Assert.Throws<FormatException>(() => Device.Parse("gpu"));
        Assert.Throws<FormatException>(() => Device.Parse("cuda:-1"));
    }
}
