using Reweighting.Torch;
using Reweighting.Torch.NN;
using static Reweighting.Torch.Torch;

namespace Reweighting.Modeling.Gpt;

/// <summary>Causal multi-head self-attention with one fused q/k/v projection, as in GPT-2.</summary>
public sealed class CausalSelfAttention : Module<Tensor, Tensor>
{
    private readonly GptConfig _config;
    private readonly Generator _dropoutGenerator;

    public Linear QueryKeyValue { get; }
    public Linear Projection { get; }

    public CausalSelfAttention(GptConfig config, Generator dropoutGenerator)
    {
        this._config = config;
        this._dropoutGenerator = dropoutGenerator;
        QueryKeyValue = RegisterModule("c_attn", new Linear(config.Embedding, 3 * config.Embedding));
        Projection = RegisterModule("c_proj", new Linear(config.Embedding, config.Embedding));
    }

    public override Tensor Forward(Tensor x)
    {
        long b = x.Size(0), t = x.Size(1), c = _config.Embedding, nh = _config.Heads, hs = _config.HeadSize;
        var qkv = QueryKeyValue.Forward(x); // (B, T, 3C)
        var q = qkv.Narrow(2, 0, c).View(b, t, nh, hs).Transpose(1, 2); // (B, nh, T, hs)
        var k = qkv.Narrow(2, c, c).View(b, t, nh, hs).Transpose(1, 2);
        var v = qkv.Narrow(2, 2 * c, c).View(b, t, nh, hs).Transpose(1, 2);
        var y = Functional.ScaledDotProductAttention(q, k, v, dropoutP: IsTraining ? _config.Dropout : 0, isCausal: true,
            generator: _dropoutGenerator); // (B, nh, T, hs)
        y = y.Transpose(1, 2).Contiguous().View(b, t, c); // (B, T, C)
        return Functional.Dropout(Projection.Forward(y), _config.Dropout, IsTraining, _dropoutGenerator);
    }
}

/// <summary>The position-wise feed-forward network: 4× expansion, tanh-approximated GELU.</summary>
public sealed class Mlp : Module<Tensor, Tensor>
{
    private readonly double _dropout;
    private readonly Generator _dropoutGenerator;

    public Linear Expand { get; }
    public Linear Projection { get; }

    public Mlp(GptConfig config, Generator dropoutGenerator)
    {
        _dropout = config.Dropout;
        this._dropoutGenerator = dropoutGenerator;
        Expand = RegisterModule("c_fc", new Linear(config.Embedding, 4 * config.Embedding));
        Projection = RegisterModule("c_proj", new Linear(4 * config.Embedding, config.Embedding));
    }

    public override Tensor Forward(Tensor x) =>
        Functional.Dropout(Projection.Forward(Functional.Gelu(Expand.Forward(x), tanhApproximation: true)), _dropout, IsTraining, _dropoutGenerator);
}

/// <summary>A pre-LayerNorm transformer block.</summary>
public sealed class Block : Module<Tensor, Tensor>
{
    public LayerNorm Norm1 { get; }
    public CausalSelfAttention Attention { get; }
    public LayerNorm Norm2 { get; }
    public Mlp Mlp { get; }

    public Block(GptConfig config, Generator dropoutGenerator)
    {
        Norm1 = RegisterModule("ln_1", new LayerNorm(config.Embedding, config.LayerNormEps));
        Attention = RegisterModule("attn", new CausalSelfAttention(config, dropoutGenerator));
        Norm2 = RegisterModule("ln_2", new LayerNorm(config.Embedding, config.LayerNormEps));
        Mlp = RegisterModule("mlp", new Mlp(config, dropoutGenerator));
    }

    public override Tensor Forward(Tensor x)
    {
        x = x + Attention.Forward(Norm1.Forward(x));
        return x + Mlp.Forward(Norm2.Forward(x));
    }
}

/// <summary>GPT-2: token and learned position embeddings, pre-LN blocks, final LayerNorm, and an LM head tied
/// to the token embedding. Parameter names follow GPT-2's (without the "transformer." prefix).</summary>
public sealed class GptModel : Module<Tensor, Tensor>
{
    /// <summary>Target value that marks padding: such positions get no loss.</summary>
    public const long IgnoreIndex = -100;

    public GptConfig Config { get; }
    public Embedding TokenEmbedding { get; }
    public Embedding PositionEmbedding { get; }
    public ModuleList<Block> Blocks { get; }
    public LayerNorm FinalNorm { get; }

    /// <summary>The model's own source of dropout masks: training re-seeds it per step, so a run is reproducible
    /// whatever else the process does with the global generator.</summary>
    public Generator DropoutGenerator { get; }

    /// <summary>A freshly initialised model (GPT-2 initialisation, seeded).</summary>
    public GptModel(GptConfig config, ulong seed = 1337)
    {
        Config = config.Validate();
        DropoutGenerator = new Generator(seed ^ 0x5DEECE66DUL);
        TokenEmbedding = RegisterModule("wte", new Embedding(config.VocabSize, config.Embedding));
        PositionEmbedding = RegisterModule("wpe", new Embedding(config.ContextLength, config.Embedding));
        Blocks = RegisterModule("h", new ModuleList<Block>(Enumerable.Range(0, config.Layers).Select(_ => new Block(config, DropoutGenerator))));
        FinalNorm = RegisterModule("ln_f", new LayerNorm(config.Embedding, config.LayerNormEps));
        Initialise(seed);
    }

    /// <summary>GPT-2 initialisation: N(0, 0.02) for weights and embeddings, zero biases, and residual
    /// projections scaled by 1/√(2·layers) so the residual stream's variance does not grow with depth.</summary>
    private void Initialise(ulong seed)
    {
        using var g = new Generator(seed);
        using var noGrad = NoGrad();
        var residualStd = 0.02 / Math.Sqrt(2.0 * Config.Layers);
        foreach (var (name, p) in NamedParameters())
        {
            if (name.StartsWith("ln_", StringComparison.Ordinal) || name.Contains(".ln_", StringComparison.Ordinal)) continue; // ones / zeros
            if (name.EndsWith(".bias", StringComparison.Ordinal)) p.ZeroInPlace();
            else if (name.EndsWith("c_proj.weight", StringComparison.Ordinal)) p.NormalInPlace(0, residualStd, g);
            else p.NormalInPlace(0, 0.02, g);
        }
    }

    /// <summary>Logits (B, T, V) for token ids (B, T), T ≤ the context length.</summary>
    public override Tensor Forward(Tensor ids)
    {
        long t = ids.Size(1);
        if (t > Config.ContextLength)
            throw new ArgumentException($"sequence length {t} exceeds the context length {Config.ContextLength}; score long documents in windows");
        var positions = Arange(t, device: ids.Device); // (T)
        var x = TokenEmbedding.Forward(ids) + PositionEmbedding.Forward(positions); // (B, T, C)
        x = Functional.Dropout(x, Config.Dropout, IsTraining, DropoutGenerator);
        foreach (var block in Blocks) x = block.Forward(x);
        x = FinalNorm.Forward(x);
        return Functional.Linear(x, TokenEmbedding.Weight); // (B, T, V), the head tied to wte
    }

    /// <summary>The loss of every target token (B, T) in nats; positions whose target is <see cref="IgnoreIndex"/>
    /// (padding) get 0.</summary>
    public Tensor TokenLosses(Tensor ids, Tensor targets)
    {
        var logits = Forward(ids); // (B, T, V)
        long b = ids.Size(0), t = ids.Size(1);
        var losses = Functional.CrossEntropy(logits.View(-1, Config.VocabSize), targets.Reshape(-1), Reduction.None, IgnoreIndex);
        return losses.View(b, t).To(ScalarType.Float32);
    }

    protected override void DisposeOwned() => DropoutGenerator.Dispose();

    /// <summary>Parameters that take weight decay (the matrices of linear layers) and those that do not
    /// (biases, LayerNorm weights, embeddings), for AdamW's two groups.</summary>
    public (IReadOnlyList<Tensor> Decay, IReadOnlyList<Tensor> NoDecay) DecayGroups()
    {
        var decay = new List<Tensor>();
        var noDecay = new List<Tensor>();
        foreach (var (name, p) in NamedParameters())
        {
            var isLinearWeight = name.EndsWith(".weight", StringComparison.Ordinal) &&
                                 (name.Contains(".attn.", StringComparison.Ordinal) || name.Contains(".mlp.", StringComparison.Ordinal));
            (isLinearWeight ? decay : noDecay).Add(p);
        }
        return (decay, noDecay);
    }
}
