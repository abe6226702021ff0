using Reweighting.Torch;
using Reweighting.Torch.NN;
using Reweighting.Torch.Optim;
using static Reweighting.Torch.Torch;

namespace Reweighting.Cli.Commands;

/// <summary>Until the pipeline exists, the demo shows the tensor engine end to end: a two-layer network
/// learns y = sin(3·x₀) + x₁² with AdamW, and the run fails unless the loss falls by 10×.</summary>
internal static class TensorEngineDemo
{
    private sealed class Mlp : Module<Tensor, Tensor>
    {
        private readonly Linear hidden;
        private readonly Linear output;

        public Mlp(Generator g)
        {
            hidden = RegisterModule("hidden", new Linear(2, 64, generator: g));
            output = RegisterModule("output", new Linear(64, 1, generator: g));
        }

        public override Tensor Forward(Tensor x) => output.Forward(Functional.Gelu(hidden.Forward(x), tanhApproximation: true));
    }

    public static int Run(int steps)
    {
        Console.WriteLine($"libtorch {LibTorchVersion}, {NumThreads} threads, CUDA {(Cuda.IsAvailable ? "available" : "not available")}");
        using var g = new Generator(1234);
        using var x = Rand([1024, 2], g) * 2 - 1;
        using var y = TargetOf(x);
        using var model = new Mlp(g);
        using var optimizer = new AdamW(model.Parameters().ToList(), learningRate: 1e-2, weightDecay: 0);
        double first = 0, last = 0;
        for (var step = 1; step <= steps; step++)
        {
            using var scope = DisposeScope.Open();
            var loss = (model.Forward(x) - y).Square().Mean();
            optimizer.ZeroGrad();
            loss.Backward();
            optimizer.Step();
            last = loss.ToDouble();
            if (step == 1) first = last;
            if (step == 1 || step % 50 == 0 || step == steps) Console.WriteLine($"step {step,4}  mse {last:F5}");
        }
        var ok = last < first / 10;
        Console.WriteLine(ok ? $"loss fell {first / last:F0}x: the engine trains" : $"error: loss fell only from {first:F5} to {last:F5}");
        return ok ? 0 : 1;
    }

    private static Tensor TargetOf(Tensor x)
    {
        using var scope = DisposeScope.Open();
        return ((x.Select(1, 0) * 3).Sin() + x.Select(1, 1).Square()).Unsqueeze(1).MoveToOuterScope();
    }
}
