using FluentAssertions;
using Reweighting.Torch.NN;
using Reweighting.Torch.Optim;
using Xunit;
using static Reweighting.Torch.Torch;

namespace Reweighting.Torch.Tests;

/// <summary>nn modules, state dicts, AdamW against a float64 reference, gradient clipping.</summary>
public sealed class ModuleTests
{
    private sealed class TwoLayer : Module<Tensor, Tensor>
    {
        public Linear First { get; }
        public LayerNorm Norm { get; }
        public Dropout Drop { get; }
        public Linear Second { get; }

        public TwoLayer(Generator g)
        {
            First = RegisterModule("first", new Linear(4, 8, generator: g));
            Norm = RegisterModule("norm", new LayerNorm(8));
            Drop = RegisterModule("drop", new Dropout(0.5));
            Second = RegisterModule("second", new Linear(8, 2, bias: false, generator: g));
            RegisterBuffer("mask", Ones([2]));
        }

        public override Tensor Forward(Tensor x) => Second.Forward(Drop.Forward(Functional.Gelu(Norm.Forward(First.Forward(x)), true)));
    }

    [Fact]
    public void Modules_name_their_parameters_and_buffers_hierarchically()
    {
        using var g = new Generator(1);
        using var m = new TwoLayer(g);
        m.NamedParameters().Select(p => p.Name).Should().Equal("first.weight", "first.bias", "norm.weight", "norm.bias", "second.weight");
        m.NamedBuffers().Select(b => b.Name).Should().Equal("mask");
        m.StateDict().Keys.Should().BeEquivalentTo(["first.weight", "first.bias", "norm.weight", "norm.bias", "second.weight", "mask"]);
        m.ParameterCount().Should().Be(4 * 8 + 8 + 8 + 8 + 8 * 2);
        m.Parameters().Should().OnlyContain(p => p.RequiresGrad);
        m.First.Weight.Shape.Should().Equal(8, 4);
        m.First.Weight.ToArray<float>().Should().OnlyContain(v => Math.Abs(v) <= 0.5f, "U(±1/√in) initialisation");
    }

    [Fact]
    public void A_state_dict_loads_into_a_fresh_module_and_reproduces_its_outputs()
    {
        using var scope = DisposeScope.Open();
        using var g1 = new Generator(1);
        using var g2 = new Generator(2);
        using var a = new TwoLayer(g1);
        using var b = new TwoLayer(g2);
        a.Eval();
        b.Eval();
        var x = Randn([3, 4], g1);
        a.Forward(x).ToArray<float>().Should().NotEqual(b.Forward(x).ToArray<float>());
        b.LoadStateDict(a.StateDict());
        b.Forward(x).ToArray<float>().Should().Equal(a.Forward(x).ToArray<float>());

        var partial = a.StateDict().Where(kv => kv.Key != "mask").ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Throws<ArgumentException>(() => b.LoadStateDict(partial)).Message.Should().Contain("missing [mask]");
        b.LoadStateDict(partial, strict: false);
        var wrong = new Dictionary<string, Tensor>(a.StateDict()) { ["first.bias"] = Zeros([3]) };
        Assert.Throws<ArgumentException>(() => b.LoadStateDict(wrong)).Message.Should().Contain("first.bias");
    }

    [Fact]
    public void Train_and_eval_switch_dropout_throughout_the_tree()
    {
        using var scope = DisposeScope.Open();
        using var g = new Generator(3);
        using var m = new TwoLayer(g);
        var x = Randn([64, 4], g);
        m.Eval();
        m.Drop.IsTraining.Should().BeFalse();
        m.Forward(x).ToArray<float>().Should().Equal(m.Forward(x).ToArray<float>());
        m.Train();
        m.Drop.IsTraining.Should().BeTrue();
        m.Forward(x).ToArray<float>().Should().NotEqual(m.Forward(x).ToArray<float>());
    }

    [Fact]
    public void Moving_a_module_keeps_parameter_identity()
    {
        using var g = new Generator(4);
        using var m = new TwoLayer(g);
        var weight = m.First.Weight;
        m.To(Device.Cpu, ScalarType.Float64);
        m.First.Weight.Should().BeSameAs(weight);
        weight.DType.Should().Be(ScalarType.Float64);
        weight.RequiresGrad.Should().BeTrue();
        m.NamedBuffers().Single().Buffer.DType.Should().Be(ScalarType.Float64);
    }

    [Fact]
    public void AdamW_matches_a_float64_reference_over_several_steps_with_two_groups()
    {
        using var scope = DisposeScope.Open();
        double[] p0 = [0.5, -1.0, 2.0];
        double[] q0 = [1.0, 0.25];
        var p = FromArray((double[])p0.Clone()).RequiresGradInPlace();
        var q = FromArray((double[])q0.Clone()).RequiresGradInPlace();
        using var opt = new AdamW([
            new ParamGroup([p], learningRate: 0.1, weightDecay: 0.01),
            new ParamGroup([q], learningRate: 0.05, weightDecay: 0, beta1: 0.8, beta2: 0.99, eps: 1e-6),
        ]);
        var refP = new AdamReference(p0, 0.1, 0.01, 0.9, 0.999, 1e-8);
        var refQ = new AdamReference(q0, 0.05, 0, 0.8, 0.99, 1e-6);
        for (var step = 0; step < 5; step++)
        {
            using var inner = DisposeScope.Open();
            opt.ZeroGrad();
            // loss = sum(p³) + sum(q²)·3: gradients 3p² and 6q.
            (p.Pow(3).Sum() + q.Square().Sum() * 3).Backward();
            refP.Step(refP.Values.Select(v => 3 * v * v).ToArray());
            refQ.Step(refQ.Values.Select(v => 6 * v).ToArray());
            opt.Step();
        }
        TestSupport.ShouldBeClose(p.ToArray<double>(), refP.Values, 1e-12, "group 0");
        TestSupport.ShouldBeClose(q.ToArray<double>(), refQ.Values, 1e-12, "group 1");
        opt.StepCount.Should().Be(5);
    }

    [Fact]
    public void AdamW_state_saves_and_restores_so_training_continues_identically()
    {
        using var scope = DisposeScope.Open();
        var p = FromArray(new[] { 0.3, -0.7 }).RequiresGradInPlace();
        var q = FromArray(new[] { 0.3, -0.7 }).RequiresGradInPlace();
        using var a = new AdamW([p], learningRate: 0.1);
        using var b = new AdamW([q], learningRate: 0.1);
        for (var i = 0; i < 3; i++)
        {
            a.ZeroGrad();
            p.Pow(3).Sum().Backward();
            a.Step();
        }
        var (step, tensors) = a.StateDict();
        using (NoGrad()) q.CopyInPlace(p);
        b.LoadStateDict(step, tensors.ToDictionary(kv => kv.Key, kv => kv.Value.Clone()));
        for (var i = 0; i < 2; i++)
        {
            a.ZeroGrad();
            b.ZeroGrad();
            p.Pow(3).Sum().Backward();
            q.Pow(3).Sum().Backward();
            a.Step();
            b.Step();
        }
        q.ToArray<double>().Should().Equal(p.ToArray<double>());
    }

    [Fact]
    public void Gradient_clipping_scales_to_the_maximum_norm_and_reports_the_original()
    {
        using var scope = DisposeScope.Open();
        var a = FromArray(new[] { 1.0, 1 }).RequiresGradInPlace();
        var b = FromArray(new[] { 1.0 }).RequiresGradInPlace();
        ((a * FromArray(new[] { 3.0, 4 })).Sum() + b * 12).Sum().Backward();
        var norm = GradientClipping.ClipGradNorm([a, b], 1.0);
        norm.Should().BeApproximately(13, 1e-12); // √(9+16+144)
        TestSupport.ShouldBeClose(a.Grad!.ToArray<double>(), [3 / 13.0, 4 / 13.0], 1e-6, "clipped a");
        TestSupport.ShouldBeClose(b.Grad!.ToArray<double>(), [12 / 13.0], 1e-6, "clipped b");
        GradientClipping.ClipGradNorm([a, b], 100).Should().BeApproximately(1, 1e-6);
        a.Grad!.ToArray<double>()[0].Should().BeApproximately(3 / 13.0, 1e-6, "below the maximum nothing changes");
    }

    [Fact]
    public void Deferred_gradient_clipping_clips_alike_and_returns_the_norm_as_a_tensor()
    {
        using var scope = DisposeScope.Open();
        var a = FromArray(new[] { 1.0, 1 }).RequiresGradInPlace();
        var b = FromArray(new[] { 1.0 }).RequiresGradInPlace();
        ((a * FromArray(new[] { 3.0, 4 })).Sum() + b * 12).Sum().Backward();
        var norm = GradientClipping.ClipGradNormDeferred([a, b], 1.0);
        norm.Shape.Should().BeEmpty();
        norm.ToDouble().Should().BeApproximately(13, 1e-12);
        TestSupport.ShouldBeClose(a.Grad!.ToArray<double>(), [3 / 13.0, 4 / 13.0], 1e-6, "clipped a");
        TestSupport.ShouldBeClose(b.Grad!.ToArray<double>(), [12 / 13.0], 1e-6, "clipped b");
        var none = FromArray(new[] { 1.0 }).RequiresGradInPlace();
        GradientClipping.ClipGradNormDeferred([none], 1.0).ToDouble().Should().Be(0, "no gradient, no norm");
    }

    /// <summary>torch.optim.AdamW written out in float64.</summary>
    private sealed class AdamReference(double[] initial, double lr, double wd, double b1, double b2, double eps)
    {
        private readonly double[] _m = new double[initial.Length];
        private readonly double[] _v = new double[initial.Length];
        private int _t;

        public double[] Values { get; } = (double[])initial.Clone();

        public void Step(double[] g)
        {
            _t++;
            for (var i = 0; i < Values.Length; i++)
            {
                Values[i] *= 1 - lr * wd;
                _m[i] = b1 * _m[i] + (1 - b1) * g[i];
                _v[i] = b2 * _v[i] + (1 - b2) * g[i] * g[i];
                var mHat = _m[i] / (1 - Math.Pow(b1, _t));
                var vHat = _v[i] / (1 - Math.Pow(b2, _t));
                Values[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
        }
    }
}
