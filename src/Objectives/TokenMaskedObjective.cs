using System.Globalization;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Torch;
using static Reweighting.Torch.Torch;

namespace Reweighting.Objectives;

/// <summary>Settings of the token-masked objective (Liu, Benjamin, Zador).</summary>
/// <param name="TopFraction">q: the share of a sequence's target tokens, those of highest loss, trained by MLE; the rest are
/// distilled from the reference. 1 is ordinary MLE, 0 pure distillation.</param>
/// <param name="PerSequence">Select the top-q tokens within each sequence (the default) rather than over the whole micro-batch.</param>
/// <param name="Blend">Select nothing: every token's term is q·MLE + (1 − q)·distillation, the same mix of the two terms on
/// average with no token chosen by its loss. The arm that separates what distillation transfers from what the selection
/// does (<c>distill</c> in the evaluation).</param>
public sealed record TokenMaskedOptions(double TopFraction = 0.25, bool PerSequence = true, bool Blend = false)
{
    /// <summary>Checks the fraction; throws with its value.</summary>
    public TokenMaskedOptions Validate()
    {
        if (!(TopFraction is >= 0 and <= 1)) throw new ArgumentException($"the MLE top fraction must be in [0, 1], got {TopFraction}");
        return this;
    }

    /// <summary>How many of n tokens are MLE: ceil(q·n) (so q &gt; 0 always gives at least one), 0 when q = 0. A 1e-9 slack
    /// keeps a product that floating point lands just above an integer (0.3·10) from rounding up.</summary>
    public static int MleCount(double topFraction, int n) =>
        topFraction <= 0 || n <= 0 ? 0 : Math.Clamp((int)Math.Ceiling(topFraction * n - 1e-9), 1, n);
}

/// <summary>The token-level uncertainty-aware objective of Liu, Benjamin and Zador: per target token, cross-entropy to the
/// target (MLE) on the top-q highest-loss tokens and cross-entropy to a reference model's full next-token distribution,
/// -sum_v p_ref(v) log p_theta(v), on the rest. The objective is the mean of the per-token terms over every position of the
/// micro-batch (padding, target <see cref="GptModel.IgnoreIndex"/>, contributes 0), so its scale matches the mean token
/// loss. The reference (the proxy or a checkpoint, or the model itself for self-distillation) runs in eval mode without
/// gradients; its mode is restored afterwards.</summary>
public sealed class TokenMaskedObjective(GptModel reference, TokenMaskedOptions? options = null) : ITrainingObjective
{
    private readonly GptModel _reference = reference ?? throw new ArgumentNullException(nameof(reference));
    private readonly TokenMaskedOptions _options = (options ?? new TokenMaskedOptions()).Validate();

    private long _mleTokens, _scoredTokens, _distilledTokens;
    private double _distillSum;

    /// <summary>The settings in force.</summary>
    public TokenMaskedOptions Options => _options;

    public ObjectiveValue Compute(GptModel model, MicroBatch batch)
    {
        int vocab = model.Config.VocabSize;
        if (_reference.Config.VocabSize != vocab)
            throw new ArgumentException($"the reference model's vocabulary ({_reference.Config.VocabSize}) differs from the trained model's ({vocab}); distillation needs the same tokens");
        var ids = batch.Ids;
        int b = (int)ids.Size(0), t = (int)ids.Size(1), n = b * t;

        var logits = model.Forward(ids); // (B, T, V)
        var flat = logits.View(-1, vocab); // (N, V)
        if (flat.DType != ScalarType.Float32) flat = flat.To(ScalarType.Float32); // bfloat16 under autocast
        var targets = batch.Targets.Reshape(-1); // (N)
        var tokenLoss = Functional.CrossEntropy(flat, targets, Reduction.None, GptModel.IgnoreIndex); // (N), 0 at padding
        var meanTokenLoss = tokenLoss.Mean();

        var valid = targets.ToArray<long>().Select(y => y != GptModel.IgnoreIndex).ToArray();
        if (_options.Blend) return Blended(flat, ids, tokenLoss, meanTokenLoss, valid, n, vocab);
        var lossValues = tokenLoss.Detach().ToArray<float>();
        var mle = SelectMleTokens(lossValues, valid, b, t, _options);
        long mleCount = mle.Count(m => m), validCount = valid.Count(v => v), distillCount = validCount - mleCount;
        _mleTokens += mleCount;
        _scoredTokens += validCount;
        if (distillCount == 0) return new ObjectiveValue(meanTokenLoss, meanTokenLoss.Detach()); // q = 1: ordinary MLE, no reference pass

        var device = ids.Device;
        CheckReferenceDevice(ids);
        var referenceProbabilities = ReferenceProbabilities(ids, vocab); // (N, V), no grad
        var distill = Functional.CrossEntropy(flat, referenceProbabilities, Reduction.None); // (N) = -sum_v p_ref log p_theta
        referenceProbabilities.Dispose(); // autograd keeps what backward needs; the handle need not outlive this line

        var mleMask = FromSpan<float>(mle.Select(m => m ? 1f : 0f).ToArray(), [n], device); // (N)
        var distillMask = FromSpan<float>(mle.Select((m, i) => !m && valid[i] ? 1f : 0f).ToArray(), [n], device);
        var perToken = tokenLoss * mleMask + distill * distillMask; // (N)
        _distillSum += (distill.Detach() * distillMask).Sum().ToDouble();
        _distilledTokens += distillCount;
        return new ObjectiveValue(perToken.Sum() / n, meanTokenLoss.Detach());
    }

    /// <summary>q·MLE + (1 − q)·distillation on every valid token (<see cref="TokenMaskedOptions.Blend"/>).</summary>
    private ObjectiveValue Blended(Tensor flat, Tensor ids, Tensor tokenLoss, Tensor meanTokenLoss, bool[] valid, int n, int vocab)
    {
        var q = _options.TopFraction;
        long validCount = valid.Count(v => v);
        _scoredTokens += validCount;
        _mleTokens += (long)Math.Round(q * validCount);
        if (q >= 1) return new ObjectiveValue(meanTokenLoss, meanTokenLoss.Detach());
        CheckReferenceDevice(ids);
        var referenceProbabilities = ReferenceProbabilities(ids, vocab);
        var distill = Functional.CrossEntropy(flat, referenceProbabilities, Reduction.None); // (N)
        referenceProbabilities.Dispose();
        var validMask = FromSpan<float>(valid.Select(v => v ? 1f : 0f).ToArray(), [n], ids.Device);
        var perToken = tokenLoss * q + distill * validMask * (1 - q); // tokenLoss is 0 at padding already
        _distillSum += (distill.Detach() * validMask).Sum().ToDouble();
        _distilledTokens += validCount;
        return new ObjectiveValue(perToken.Sum() / n, meanTokenLoss.Detach());
    }

    private void CheckReferenceDevice(Tensor ids)
    {
        var refDevice = _reference.Parameters().First().Device;
        if (refDevice != ids.Device)
            throw new ArgumentException($"the reference model is on {refDevice} but the batch is on {ids.Device}");
    }

    /// <summary>The reference's next-token distribution (N, V) in float32, computed in eval mode without gradients; its
    /// logits and other temporaries are freed before returning.</summary>
    private Tensor ReferenceProbabilities(Tensor ids, int vocab)
    {
        var wasTraining = _reference.IsTraining;
        _reference.Eval();
        try
        {
            using var noGrad = NoGrad();
            using var scope = DisposeScope.Open();
            var refLogits = _reference.Forward(ids).View(-1, vocab); // (N, V)
            return Functional.Softmax(refLogits, -1, ScalarType.Float32).MoveToOuterScope();
        }
        finally
        {
            _reference.Train(wasTraining);
        }
    }

    /// <summary>Which of the B·T tokens (row-major, losses detached) are trained by MLE: per sequence (or over the batch)
    /// the <see cref="TokenMaskedOptions.MleCount"/> valid tokens of highest loss, ties going to the earlier position.
    /// When q &gt; 0 every sequence with a valid token gets at least one, so batch-wide selection also adds a sequence's
    /// hardest token when the batch's top set missed it.</summary>
    internal static bool[] SelectMleTokens(float[] losses, bool[] valid, int batch, int length, TokenMaskedOptions options)
    {
        if (losses.Length != batch * length || valid.Length != losses.Length)
            throw new ArgumentException($"{losses.Length} losses and {valid.Length} flags for {batch}×{length} tokens");
        var mle = new bool[losses.Length];
        var q = options.TopFraction;
        if (q <= 0) return mle;

        // Descending loss, then ascending position: a total order, so the choice never depends on a sort's stability.
        void TakeTop(IEnumerable<int> positions)
        {
            var candidates = positions.Where(i => valid[i]).ToList();
            var k = TokenMaskedOptions.MleCount(q, candidates.Count);
            foreach (var i in candidates.OrderByDescending(i => losses[i]).ThenBy(i => i).Take(k)) mle[i] = true;
        }

        if (options.PerSequence)
        {
            for (var s = 0; s < batch; s++) TakeTop(Enumerable.Range(s * length, length));
            return mle;
        }
        TakeTop(Enumerable.Range(0, losses.Length));
        for (var s = 0; s < batch; s++)
        {
            var row = Enumerable.Range(s * length, length).Where(i => valid[i]).ToList();
            if (row.Count == 0 || row.Any(i => mle[i])) continue;
            mle[row.OrderByDescending(i => losses[i]).ThenBy(i => i).First()] = true;
        }
        return mle;
    }

    /// <summary>"mle 25% of tokens, distill CE 3.21" over the micro-batches since the last call.</summary>
    public string? TakeSummary()
    {
        if (_scoredTokens == 0) return null;
        var text = string.Create(CultureInfo.InvariantCulture, $"mle {100.0 * _mleTokens / _scoredTokens:0.#}% of tokens");
        if (_distilledTokens > 0) text += string.Create(CultureInfo.InvariantCulture, $", distill CE {_distillSum / _distilledTokens:0.00}");
        _mleTokens = _scoredTokens = _distilledTokens = 0;
        _distillSum = 0;
        return text;
    }
}
