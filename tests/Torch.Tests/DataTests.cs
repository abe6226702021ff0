using FluentAssertions;
using Xunit;
using static Reweighting.Torch.Torch;

namespace Reweighting.Torch.Tests;

/// <summary>Creation, dtypes, raw data copies, devices and random generators.</summary>
public sealed class DataTests
{
    [Fact]
    public void Managed_arrays_round_trip_in_every_dtype()
    {
        using var scope = DisposeScope.Open();
        FromArray(new[] { 1.5f, -2f }).ToArray<float>().Should().Equal(1.5f, -2f);
        FromArray(new[] { 1.5, -2 }).ToArray<double>().Should().Equal(1.5, -2);
        FromArray(new[] { long.MaxValue, -1L }).ToArray<long>().Should().Equal(long.MaxValue, -1L);
        FromArray(new[] { int.MinValue, 7 }).ToArray<int>().Should().Equal(int.MinValue, 7);
        FromArray(new[] { true, false, true }).ToArray<bool>().Should().Equal(true, false, true);
        FromArray(new byte[] { 0, 255 }).ToArray<byte>().Should().Equal(0, 255);
        FromArray(new[] { (Half)1.5, (Half)(-0.25) }).ToArray<Half>().Should().Equal((Half)1.5, (Half)(-0.25));
        var bf = FromArray(new[] { BFloat16.FromSingle(1.5f), BFloat16.FromSingle(-3f) });
        bf.DType.Should().Be(ScalarType.BFloat16);
        bf.ToArray<BFloat16>().Select(b => b.ToSingle()).Should().Equal(1.5f, -3f);
    }

    [Fact]
    public void Casting_between_dtypes_matches_libtorch_rounding()
    {
        using var scope = DisposeScope.Open();
        var x = FromArray(new[] { 1.0f + 1.0f / 256, 3.14159f, -0.1f });
        var viaTorch = x.To(ScalarType.BFloat16).ToArray<BFloat16>();
        var managed = new[] { 1.0f + 1.0f / 256, 3.14159f, -0.1f }.Select(BFloat16.FromSingle).ToArray();
        viaTorch.Should().Equal(managed, "the managed bfloat16 conversion rounds to nearest-even like libtorch");
        x.To(ScalarType.Float64).DType.Should().Be(ScalarType.Float64);
        x.To(ScalarType.Int64).ToArray<long>().Should().Equal(1, 3, 0);
        x.To(ScalarType.Float16).To(ScalarType.Float32).ToArray<float>()[1].Should().BeApproximately(3.14159f, 2e-3f);
    }

    [Fact]
    public void Raw_bytes_export_and_import_without_loss()
    {
        using var scope = DisposeScope.Open();
        var x = Randn([3, 4], new Generator(5));
        var bytes = x.ToBytes();
        bytes.Length.Should().Be(48);
        BitConverter.ToSingle(bytes, 4).Should().Be(x.ToArray<float>()[1], "little-endian row-major layout");
        var y = FromBytes(bytes, ScalarType.Float32, [3, 4]);
        y.ToArray<float>().Should().Equal(x.ToArray<float>());
        var z = Zeros([3, 4]);
        z.CopyBytesFrom(bytes);
        z.ToArray<float>().Should().Equal(x.ToArray<float>());
        Assert.Throws<TorchException>(() => FromBytes(bytes.AsSpan(0, 47), ScalarType.Float32, [3, 4])).Message.Should().Contain("47 bytes");
        x.Transpose(0, 1).ToBytes().Length.Should().Be(48, "non-contiguous tensors are exported in logical order");
    }

    [Fact]
    public void Copy_from_a_span_overwrites_in_place()
    {
        using var scope = DisposeScope.Open();
        var x = Zeros([2, 2], ScalarType.Int64);
        x.CopyFrom<long>(new long[] { 1, 2, 3, 4 });
        x.ToArray<long>().Should().Equal(1, 2, 3, 4);
        Span<long> destination = stackalloc long[4];
        x.CopyTo(destination);
        destination.ToArray().Should().Equal(1, 2, 3, 4);
    }

    [Fact]
    public void Factories_build_the_requested_shapes_and_values()
    {
        using var scope = DisposeScope.Open();
        Zeros([2, 3]).ToArray<float>().Should().OnlyContain(v => v == 0);
        Ones([2], ScalarType.Float64).ToArray<double>().Should().Equal(1, 1);
        Full([2, 2], 7, ScalarType.Int32).ToArray<int>().Should().Equal(7, 7, 7, 7);
        Arange(5).ToArray<long>().Should().Equal(0, 1, 2, 3, 4);
        Arange(1, 2, 0.25, ScalarType.Float32).ToArray<float>().Should().Equal(1f, 1.25f, 1.5f, 1.75f);
        Scalar(3).Dim.Should().Be(0);
        var like = ZerosLike(Ones([4, 1], ScalarType.BFloat16));
        like.Shape.Should().Equal(4, 1);
        like.DType.Should().Be(ScalarType.BFloat16);
        like.Device.Should().Be(Device.Cpu);
        Empty([0, 3]).NumberOfElements.Should().Be(0);
        Rand([1000]).ToArray<float>().Should().OnlyContain(v => v >= 0 && v < 1);
        RandInt(3, 6, [1000]).ToArray<long>().Should().OnlyContain(v => v >= 3 && v < 6);
    }

    [Fact]
    public void Seeded_generators_reproduce_and_restore_their_sequences()
    {
        using var scope = DisposeScope.Open();
        using var g1 = new Generator(11);
        using var g2 = new Generator(11);
        using var g3 = new Generator(12);
        var a = Randn([8], g1).ToArray<float>();
        Randn([8], g2).ToArray<float>().Should().Equal(a);
        Randn([8], g3).ToArray<float>().Should().NotEqual(a);

        var state = g1.GetState();
        var next = Randn([8], g1).ToArray<float>();
        g1.SetState(state);
        Randn([8], g1).ToArray<float>().Should().Equal(next);

        ManualSeed(3);
        var first = Rand([4]).ToArray<float>();
        ManualSeed(3);
        Rand([4]).ToArray<float>().Should().Equal(first);
    }

    [Fact]
    public void Tensors_report_shape_dtype_device_and_values()
    {
        using var scope = DisposeScope.Open();
        var x = FromArray(new[] { 1f, 2, 3, 4, 5, 6 }, 2, 3);
        x.Shape.Should().Equal(2, 3);
        x.Size(-1).Should().Be(3);
        x.Dim.Should().Be(2);
        x.NumberOfElements.Should().Be(6);
        x.DType.Should().Be(ScalarType.Float32);
        x.Device.Should().Be(Device.Cpu);
        x.ToString().Should().Contain("1").And.Contain("6");
        x.To(Device.Cpu).ToArray<float>().Should().Equal(x.ToArray<float>());
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Size(2));
        Assert.Throws<TorchException>(() => x.ToDouble()).Message.Should().Contain("item");
        LibTorchVersion.Should().MatchRegex(@"^\d+\.\d+");
    }

    [Fact]
    public void Autocast_runs_linear_layers_in_bfloat16_and_restores_on_exit()
    {
        using var scope = DisposeScope.Open();
        var x = Randn([4, 8]);
        var w = Randn([3, 8]);
        using (Autocast(DeviceType.Cpu))
        {
            Functional.Linear(x, w).DType.Should().Be(ScalarType.BFloat16);
            using (Autocast(DeviceType.Cpu)) Functional.Linear(x, w).DType.Should().Be(ScalarType.BFloat16, "regions nest");
            Functional.Linear(x, w).DType.Should().Be(ScalarType.BFloat16, "leaving an inner region keeps the outer one");
        }
        Functional.Linear(x, w).DType.Should().Be(ScalarType.Float32);
    }

    [Fact]
    public void No_grad_scopes_stop_recording_and_nest()
    {
        using var scope = DisposeScope.Open();
        var x = Ones([2]).RequiresGradInPlace();
        using (NoGrad())
        {
            (x * 2).RequiresGrad.Should().BeFalse();
            using (EnableGrad()) (x * 2).RequiresGrad.Should().BeTrue();
            IsGradEnabled.Should().BeFalse();
        }
        IsGradEnabled.Should().BeTrue();
        (x * 2).RequiresGrad.Should().BeTrue();
        x.IsLeaf.Should().BeTrue();
        (x * 2).IsLeaf.Should().BeFalse();
    }

    [Fact]
    public void Autograd_grad_returns_gradients_for_chosen_inputs()
    {
        using var scope = DisposeScope.Open();
        var a = FromArray(new[] { 1.0, 2 }).RequiresGradInPlace();
        var b = FromArray(new[] { 3.0, 4 }).RequiresGradInPlace();
        var unused = FromArray(new[] { 0.0 }).RequiresGradInPlace();
        var y = (a * b).Sum();
        var grads = Autograd.Grad([y], [a, b, unused], allowUnused: true);
        grads[0]!.ToArray<double>().Should().Equal(3, 4);
        grads[1]!.ToArray<double>().Should().Equal(1, 2);
        grads[2].Should().BeNull();
        a.Grad.Should().BeNull("autograd.grad does not accumulate into .grad");

        var v = a * 3;
        var weighted = Autograd.Grad([v], [a], [FromArray(new[] { 1.0, 10 })]);
        weighted[0]!.ToArray<double>().Should().Equal(3, 30);

        (a * a).Sum().Backward();
        a.Grad!.ToArray<double>().Should().Equal(2, 4);
        (a * a).Sum().Backward();
        a.Grad!.ToArray<double>().Should().Equal(new double[] { 4, 8 }, "backward accumulates");
        Autograd.ZeroGrad([a], setToNone: false);
        a.Grad!.ToArray<double>().Should().Equal(0, 0);
        Autograd.ZeroGrad([a]);
        a.Grad.Should().BeNull();
        (a * 2).Backward(FromArray(new[] { 1.0, -1 }));
        a.Grad!.ToArray<double>().Should().Equal(2, -2);
    }
}
