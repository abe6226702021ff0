using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using static Reweighting.Torch.Torch;

namespace Reweighting.Objectives;

/// <summary>Weight 0 on the tokens of the documents a mask flags and the same weight on every other target
/// token of the step: the mean token loss over the kept tokens of the whole optimiser step. The weighting oracle of
/// `eval reweighting` (<c>oracle:weights</c>): the batches are uniform training's, noise and all, and only the noise's
/// share of the gradient is taken away, so it is the headroom of a method that weighs the stream rather than one that
/// leaves documents out of it.</summary>
/// <remarks>Sequences are found by their position in the stream (<see cref="DocumentSequenceStatistics.FirstSequence"/>).
/// A step whose every token is dropped trains on nothing.</remarks>
public sealed class DocumentMaskObjective : ITrainingObjective
{
    private readonly TokenStream _data;
    private readonly bool[] _drop;
    private readonly int _batchSize;
    private readonly int _gradientAccumulation;
    private readonly Dictionary<int, float[]> _stepMasks = new(); // micro-batch index → its mask, made in BeginStep
    private long _stepKept;
    private int _stepMicroBatches = 1;

    /// <param name="data">The training stream, built from the documents in the order of <paramref name="drop"/>.</param>
    /// <param name="drop">Per document: whether its tokens get weight 0.</param>
    /// <param name="batchSize">Sequences per micro-batch.</param>
    /// <param name="gradientAccumulation">Micro-batches per optimiser step.</param>
    public DocumentMaskObjective(TokenStream data, bool[] drop, int batchSize, int gradientAccumulation)
    {
        if (batchSize < 1 || gradientAccumulation < 1) throw new ArgumentException("a step needs at least one micro-batch of one sequence");
        _data = data ?? throw new ArgumentNullException(nameof(data));
        _drop = drop ?? throw new ArgumentNullException(nameof(drop));
        _batchSize = batchSize;
        _gradientAccumulation = gradientAccumulation;
    }

    /// <summary>Tokens kept since the objective was made, and tokens seen.</summary>
    public (long Kept, long Seen) Tokens { get; private set; }

    /// <summary>Per target position of the stream's sequence <paramref name="index"/>: 1 where its document is kept, else 0.</summary>
    public float[] Mask(long index)
    {
        var mask = new float[_data.SequenceLength];
        var position = 0;
        foreach (var (document, tokens) in _data.Composition(index))
        {
            var keep = document >= _drop.Length || !_drop[document];
            if (keep) Array.Fill(mask, 1f, position, tokens);
            position += tokens;
        }
        return mask;
    }

    /// <summary>Makes the step's masks and counts its kept tokens, so every micro-batch divides by the step's total.</summary>
    public void BeginStep(GptModel model, StepContext step)
    {
        _stepMasks.Clear();
        _stepKept = 0;
        _stepMicroBatches = step.MicroBatches.Count;
        foreach (var batch in step.MicroBatches)
        {
            var first = DocumentSequenceStatistics.FirstSequence(batch, _batchSize, _gradientAccumulation);
            float[] mask = [.. Enumerable.Range(0, _batchSize).SelectMany(i => Mask(first + i))];
            var kept = mask.Count(m => m > 0);
            Tokens = (Tokens.Kept + kept, Tokens.Seen + mask.Length);
            _stepKept += kept;
            _stepMasks[batch.Index] = mask;
        }
    }

    public ObjectiveValue Compute(GptModel model, MicroBatch batch)
    {
        if (!_stepMasks.Remove(batch.Index, out var mask))
            throw new InvalidOperationException("a micro-batch outside the step BeginStep was told of");
        var tokenLosses = model.TokenLosses(batch.Ids, batch.Targets); // (B, T)
        var weights = FromSpan<float>(mask, [tokenLosses.Size(0), tokenLosses.Size(1)], tokenLosses.Device);
        // The trainer divides each micro-batch's objective by the accumulation count A; times A, the step sums to the mean.
        var scale = _stepKept > 0 ? (double)_stepMicroBatches / _stepKept : 0;
        return new ObjectiveValue((tokenLosses * weights).Sum() * scale, tokenLosses.Mean());
    }
}
