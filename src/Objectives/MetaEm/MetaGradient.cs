using Reweighting.Modeling.Gpt;
using Reweighting.Torch;
using static Reweighting.Torch.Torch;

namespace Reweighting.MetaEm;

/// <summary>How the per-sample alignments &lt;grad l_val, grad l_i&gt; of the meta-gradient are computed.</summary>
public enum MetaGradientMethod
{
    /// <summary><see cref="Forward"/> on CUDA (it runs in bfloat16 autocast there), <see cref="Differences"/> on the CPU
    /// (where two float32 forwards cost less than one forward-mode pass).</summary>
    Auto,

    /// <summary>Central differences along the validation gradient: two extra forward passes, in float32.</summary>
    Differences,

    /// <summary>Forward-mode AD along the validation gradient: one pass carrying tangents, exact, no perturbation.</summary>
    Forward,

    /// <summary>Double backward through the unrolled step, exact for the step itself (small models).</summary>
    Exact,
}

/// <summary>The names of <see cref="MetaGradientMethod"/> on command lines and in configuration.</summary>
public static class MetaGradientMethods
{
    public static readonly string[] Names = ["auto", "differences", "forward", "exact"]; // in the enum's order

    public static MetaGradientMethod Parse(string name)
    {
        var index = Array.IndexOf(Names, name.Trim().ToLowerInvariant());
        return index >= 0 ? (MetaGradientMethod)index
            : throw new ArgumentException($"unknown meta-gradient method '{name}' (expected one of {string.Join(", ", Names)})");
    }

    public static string Name(this MetaGradientMethod method) => Names[(int)method];
}

/// <summary>The per-sample alignments the meta-gradient of phi is made of. One weighted SGD step
/// theta' = theta − eta sum_i a_i grad l_i(theta) (a_i = w_i k_i) changes the validation loss by
/// U = l_val(theta) − l_val(theta'), so dU/dw_i = eta k_i &lt;grad l_val(theta'), grad l_i(theta)&gt; exactly.
/// <see cref="Exact"/> computes that inner product by double backward. For large models it is approximated with
/// grad l_val taken at theta (first order in eta), g = grad l_val(theta): <see cref="DirectionalDerivatives"/> computes
/// &lt;g, grad l_i(theta)&gt;, the derivative of l_i along g, exactly by forward-mode AD; <see cref="CentralDifferences"/>
/// from two extra forward passes, (l_i(theta + eps ĝ) − l_i(theta − eps ĝ)) / (2 eps) · ||g||, ĝ = g / ||g||.
/// All run the model in evaluation mode (no dropout) and leave parameters and their gradients as they found them.</summary>
public static class MetaGradient
{
    /// <summary>grad l_val(theta) of a validation batch (one tensor per parameter, detached), without touching .grad.</summary>
    public static Tensor[] ValidationGradient(GptModel model, Tensor validIds, Tensor validTargets)
    {
        var parameters = model.Parameters().ToList();
        using var mode = EvaluationMode.Enter(model);
        using var scope = DisposeScope.Open();
        var loss = model.TokenLosses(validIds, validTargets).Mean();
        var grads = Autograd.Grad([loss], parameters);
        return grads.Select(g => g!.Detach().MoveToOuterScope()).ToArray();
    }

    /// <summary>&lt;g, grad l_i(theta)&gt; for every sequence i of (ids, targets), l_i its mean token loss, by central
    /// differences along g/||g|| with step <paramref name="epsilon"/> (in parameter units). Run it in float32: a
    /// bfloat16 or TF32 matmul cannot resolve the perturbation.</summary>
    public static double[] CentralDifferences(GptModel model, Tensor ids, Tensor targets, IReadOnlyList<Tensor> direction, double epsilon = 1e-2)
    {
        var parameters = ParametersAlong(model, direction);
        if (IsAutocastEnabled(DeviceType.Cpu) || IsAutocastEnabled(DeviceType.Cuda))
            throw new InvalidOperationException("central differences need float32: a low-precision matmul cannot resolve the perturbation (call them outside autocast)");
        using var mode = EvaluationMode.Enter(model);
        using var scope = DisposeScope.Open();
        using var noGrad = NoGrad();
        var norm = Math.Sqrt(direction.Sum(d => d.Square().Sum().ToDouble()));
        if (!(norm > 0)) return new double[ids.Size(0)];
        var backup = parameters.Select(p => p.Clone()).ToList();
        try
        {
            var step = epsilon / norm;
            for (var j = 0; j < parameters.Count; j++) parameters[j].AddInPlace(direction[j] * step);
            var plus = model.TokenLosses(ids, targets).To(ScalarType.Float64).Mean(1).ToArray<double>();
            for (var j = 0; j < parameters.Count; j++) parameters[j].CopyInPlace(backup[j]).AddInPlace(direction[j] * -step);
            var minus = model.TokenLosses(ids, targets).To(ScalarType.Float64).Mean(1).ToArray<double>();
            return plus.Select((p, i) => (p - minus[i]) / (2 * epsilon) * norm).ToArray();
        }
        finally
        {
            for (var j = 0; j < parameters.Count; j++) parameters[j].CopyInPlace(backup[j]);
        }
    }

    /// <summary>&lt;g, grad l_i(theta)&gt; for every sequence i of (ids, targets), l_i its mean token loss: the derivative of
    /// l_i along g, by one forward pass with g as the parameters' tangents (forward-mode AD). It perturbs nothing, so it
    /// keeps its accuracy under the caller's bfloat16 autocast; attention takes the explicit path inside it.</summary>
    public static double[] DirectionalDerivatives(GptModel model, Tensor ids, Tensor targets, IReadOnlyList<Tensor> direction)
    {
        var parameters = ParametersAlong(model, direction);
        using var mode = EvaluationMode.Enter(model);
        using var scope = DisposeScope.Open();
        using var noGrad = NoGrad();
        using var level = ForwardAD.Enter();
        for (var j = 0; j < parameters.Count; j++) level.SetTangent(parameters[j], direction[j]);
        var tangent = level.Tangent(model.TokenLosses(ids, targets).Mean(1));
        return tangent is null ? new double[ids.Size(0)] : tangent.To(ScalarType.Float64).ToArray<double>();
    }

    /// <summary>The model's parameters, checked to pair one to one with <paramref name="direction"/>.</summary>
    private static List<Tensor> ParametersAlong(GptModel model, IReadOnlyList<Tensor> direction)
    {
        var parameters = model.Parameters().ToList();
        if (direction.Count != parameters.Count) throw new ArgumentException($"{direction.Count} direction tensors for {parameters.Count} parameters");
        return parameters;
    }

    /// <summary>&lt;grad l_val(theta'), grad l_i(theta)&gt; exactly, theta' = theta − eta sum_i a_i grad l_i(theta) with
    /// a = <paramref name="coefficients"/>: theta' is taken numerically, then the inner products come from one
    /// backward pass through the gradient itself (create_graph) with respect to the coefficients.</summary>
    public static double[] Exact(GptModel model, Tensor ids, Tensor targets, double[] coefficients, Tensor validIds, Tensor validTargets, double learningRate)
    {
        var parameters = model.Parameters().ToList();
        if (coefficients.Length != ids.Size(0)) throw new ArgumentException($"{coefficients.Length} coefficients for {ids.Size(0)} sequences");
        using var mode = EvaluationMode.Enter(model);
        using var scope = DisposeScope.Open();
        using var explicitAttention = Functional.ExplicitAttention(); // the double backward below
        var device = parameters[0].Device;

        // 1. theta' = theta − eta G with G = sum_i a_i grad l_i(theta), evaluated numerically.
        var a = FromSpan<float>(coefficients.Select(c => (float)c).ToArray(), [coefficients.Length], device);
        var g = Autograd.Grad([(model.TokenLosses(ids, targets).Mean(1) * a).Sum()], parameters);
        var backup = parameters.Select(p => p.Detach().Clone()).ToList();
        Tensor[] validGrad;
        try
        {
            using (NoGrad())
                for (var j = 0; j < parameters.Count; j++) parameters[j].AddInPlace(g[j]!.Detach() * -learningRate);
            var validLoss = model.TokenLosses(validIds, validTargets).Mean();
            validGrad = Autograd.Grad([validLoss], parameters).Select(v => v!.Detach()).ToArray();
        }
        finally
        {
            using (NoGrad())
                for (var j = 0; j < parameters.Count; j++) parameters[j].CopyInPlace(backup[j]);
        }

        // 2. d/da_i <G(a), grad l_val(theta')> = <grad l_i(theta), grad l_val(theta')>: double backward through G.
        var leaf = a.Detach().Clone().RequiresGradInPlace();
        var weightedGrad = Autograd.Grad([(model.TokenLosses(ids, targets).Mean(1) * leaf).Sum()], parameters, createGraph: true);
        Tensor inner = weightedGrad[0]!.Mul(validGrad[0]).Sum();
        for (var j = 1; j < parameters.Count; j++) inner = inner + weightedGrad[j]!.Mul(validGrad[j]).Sum();
        var dA = Autograd.Grad([inner], [leaf])[0]!;
        return dA.To(ScalarType.Float64).ToArray<double>();
    }
}

/// <summary>Puts a model in evaluation mode for a scope and restores its previous mode.</summary>
internal readonly struct EvaluationMode : IDisposable
{
    private readonly GptModel _model;
    private readonly bool _wasTraining;

    private EvaluationMode(GptModel model)
    {
        this._model = model;
        _wasTraining = model.IsTraining;
        model.Eval();
    }

    public static EvaluationMode Enter(GptModel model) => new(model);

    public void Dispose() => _model.Train(_wasTraining);
}
