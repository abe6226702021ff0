namespace Reweighting.Torch.NN;

/// <summary>y = x Wᵀ + b with W of shape (out, in) (torch.nn.Linear; same default initialisation).</summary>
public sealed class Linear : Module<Tensor, Tensor>
{
    public Tensor Weight { get; }
    public Tensor? Bias { get; }

    public Linear(long inFeatures, long outFeatures, bool bias = true, Generator? generator = null, Device? device = null)
    {
        // PyTorch's default: kaiming_uniform(a=√5) for W and U(±1/√in) for b, both bound 1/√in.
        var bound = 1.0 / Math.Sqrt(inFeatures);
        Weight = RegisterParameter("weight", Torch.Empty([outFeatures, inFeatures], device: device).UniformInPlace(-bound, bound, generator));
        if (bias) Bias = RegisterParameter("bias", Torch.Empty([outFeatures], device: device).UniformInPlace(-bound, bound, generator));
    }

    public override Tensor Forward(Tensor input) => Functional.Linear(input, Weight, Bias);
}

/// <summary>A lookup table of <c>num</c> vectors of size <c>dim</c> (torch.nn.Embedding; N(0, 1) initialisation).</summary>
public sealed class Embedding : Module<Tensor, Tensor>
{
    public Tensor Weight { get; }

    public Embedding(long numEmbeddings, long embeddingDim, Generator? generator = null, Device? device = null)
    {
        Weight = RegisterParameter("weight", Torch.Empty([numEmbeddings, embeddingDim], device: device).NormalInPlace(0, 1, generator));
    }

    public override Tensor Forward(Tensor indices) => Functional.Embedding(indices, Weight);
}

/// <summary>Layer normalisation over the trailing dimensions, with learnable scale (ones) and shift (zeros).</summary>
public sealed class LayerNorm : Module<Tensor, Tensor>
{
    private readonly long[] _normalizedShape;
    private readonly double _eps;

    public Tensor? Weight { get; }
    public Tensor? Bias { get; }

    public LayerNorm(long[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, bool bias = true, Device? device = null)
    {
        this._normalizedShape = normalizedShape;
        this._eps = eps;
        if (!elementwiseAffine) return;
        Weight = RegisterParameter("weight", Torch.Ones(normalizedShape, device: device));
        if (bias) Bias = RegisterParameter("bias", Torch.Zeros(normalizedShape, device: device));
    }

    public LayerNorm(long size, double eps = 1e-5, Device? device = null) : this([size], eps, device: device)
    {
    }

    public override Tensor Forward(Tensor input) => Functional.LayerNorm(input, _normalizedShape, Weight, Bias, _eps);
}

/// <summary>Dropout active in training mode only; masks come from <paramref name="generator"/> when given.</summary>
public sealed class Dropout(double p, Generator? generator = null) : Module<Tensor, Tensor>
{
    public double P { get; } = p is >= 0 and <= 1 ? p : throw new ArgumentOutOfRangeException(nameof(p), p, "must be in [0, 1]");

    public override Tensor Forward(Tensor input) => Functional.Dropout(input, P, IsTraining && P > 0, generator);
}
