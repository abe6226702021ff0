using Reweighting.Modeling.Gpt;
using Reweighting.Torch;
using static Reweighting.Torch.Torch;

namespace Reweighting.Modeling.Scoring;

/// <summary>The per-token losses of one document: entry i is the loss of predicting token i+1.</summary>
public sealed record DocumentLosses(int Index, float[] Losses);

/// <summary>Scores documents with a GPT: every next-token prediction of every document gets its loss, long
/// documents in windows of the context length (<see cref="TokenWindows"/>). Windows of many documents are buffered,
/// sorted by length and packed into token-budget batches (<see cref="ScoringBatches"/>) so little of each forward pass
/// is padding. Runs without gradients, in bfloat16 autocast on CUDA. Not thread-safe.</summary>
public sealed class DocumentScorer
{
    private readonly GptModel _model;
    private readonly Device _device;
    private readonly ScoringBatches _batches;
    private readonly int _stride;

    /// <summary>A scorer that packs windows into batches as <paramref name="batches"/> says.</summary>
    public DocumentScorer(GptModel model, Device device, ScoringBatches batches, int? stride = null)
    {
        this._model = model;
        this._device = device;
        this._batches = batches.Validate();
        this._stride = stride ?? model.Config.ContextLength;
    }

    /// <summary>A scorer of at most <paramref name="batchSize"/> windows per forward pass (and as many tokens as that
    /// many full-context windows), still sorted by length (<see cref="ScoringBatches.Rows"/>).</summary>
    public DocumentScorer(GptModel model, Device device, int batchSize = 16, int? stride = null)
        : this(model, device, batchSize < 1
            ? throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be positive")
            : ScoringBatches.Rows(batchSize, model.Config.ContextLength), stride)
    {
    }

    /// <summary>Everything this scorer has run so far, over all calls of <see cref="Score"/>.</summary>
    public ScoringStatistics Statistics { get; private set; }

    /// <summary>Yields each document's losses in input order, as soon as all of its windows are scored; documents are
    /// read only as far as the look-ahead needs.</summary>
    public IEnumerable<DocumentLosses> Score(IEnumerable<IReadOnlyList<long>> documents)
    {
        var pending = new Dictionary<int, (float[] Losses, int Remaining)>();
        var ready = new SortedDictionary<int, float[]>();
        var buffered = new List<TokenWindow>();
        long bufferedTokens = 0;
        var nextToEmit = 0;
        var index = 0;
        foreach (var doc in documents)
        {
            var losses = new float[Math.Max(0, doc.Count - 1)];
            var planned = TokenWindows.Plan(doc, _model.Config.ContextLength, _stride, index).ToList();
            if (planned.Count == 0) ready[index] = losses;
            else pending[index] = (losses, planned.Count);
            buffered.AddRange(planned);
            bufferedTokens += planned.Sum(w => (long)w.Inputs.Length);
            index++;
            // The whole look-ahead is scored at once, so no window waits longer than one look-ahead.
            if (bufferedTokens >= _batches.LookaheadTokens)
            {
                RunAll(buffered, pending, ready);
                buffered.Clear();
                bufferedTokens = 0;
            }
            while (ready.Remove(nextToEmit, out var done)) yield return new DocumentLosses(nextToEmit++, done);
        }
        RunAll(buffered, pending, ready);
        while (ready.Remove(nextToEmit, out var done)) yield return new DocumentLosses(nextToEmit++, done);
    }

    /// <summary>Plans, cuts and packs the forward passes of a group of documents, touching no tensor: safe to call on
    /// another thread while this scorer runs passes, so the next group is packed while the current one computes.</summary>
    public PackedDocuments Pack(IReadOnlyList<IReadOnlyList<long>> documents)
    {
        var windows = new List<TokenWindow>();
        var counts = new int[documents.Count];
        for (var d = 0; d < documents.Count; d++)
        {
            var planned = TokenWindows.Plan(documents[d], _model.Config.ContextLength, _stride, d).ToList();
            counts[d] = planned.Count;
            windows.AddRange(planned);
        }
        var passes = _batches.Cut(windows).Select(batch => new PackedPass(batch, TokenWindows.Pack(batch))).ToArray();
        return new PackedDocuments(documents.Select(d => Math.Max(0, d.Count - 1)).ToArray(), counts, passes);
    }

    /// <summary>Runs the forward passes of a packed group; returns each document's losses in the group's order.</summary>
    public float[][] Run(PackedDocuments packed)
    {
        var pending = new Dictionary<int, (float[] Losses, int Remaining)>();
        var ready = new SortedDictionary<int, float[]>();
        for (var d = 0; d < packed.Predictions.Length; d++)
        {
            var losses = new float[packed.Predictions[d]];
            if (packed.WindowCounts[d] == 0) ready[d] = losses;
            else pending[d] = (losses, packed.WindowCounts[d]);
        }
        foreach (var pass in packed.Passes) RunBatch(pass.Windows, pass.Packed, pending, ready);
        return Enumerable.Range(0, packed.Predictions.Length).Select(d => ready[d]).ToArray();
    }

    private void RunAll(List<TokenWindow> windows, Dictionary<int, (float[] Losses, int Remaining)> pending, SortedDictionary<int, float[]> ready)
    {
        foreach (var batch in _batches.Cut(windows)) RunBatch(batch, TokenWindows.Pack(batch), pending, ready);
    }

    private void RunBatch(TokenWindow[] batch, (long[] Inputs, long[] Targets, int Length) packed,
        Dictionary<int, (float[] Losses, int Remaining)> pending, SortedDictionary<int, float[]> ready)
    {
        var (inputs, targets, length) = packed;
        float[] losses;
        using (var scope = DisposeScope.Open())
        using (NoGrad())
        using (_device.Type == DeviceType.Cuda ? Autocast(DeviceType.Cuda) : default(AutocastScope?))
        {
            var wasTraining = _model.IsTraining;
            _model.Eval();
            // (B, T) ids and targets → (B·T) losses, zero at ignored positions
            losses = _model.TokenLosses(FromSpan<long>(inputs, [batch.Length, length], _device), FromSpan<long>(targets, [batch.Length, length], _device))
                .ToArray<float>();
            _model.Train(wasTraining);
        }
        Statistics += ScoringStatistics.Of(batch);
        for (var b = 0; b < batch.Length; b++)
        {
            var w = batch[b];
            var (docLosses, remaining) = pending[w.Document];
            for (var i = 0; i < w.Targets.Length; i++)
            {
                // Windows of one document may run in any order: each scored position has its own slot.
                if (w.Targets[i] != GptModel.IgnoreIndex) docLosses[w.Start + i] = losses[b * length + i];
            }
            if (--remaining == 0)
            {
                pending.Remove(w.Document);
                ready[w.Document] = docLosses;
            }
            else
            {
                pending[w.Document] = (docLosses, remaining);
            }
        }
    }
}

/// <summary>One forward pass, packed: its windows and their padded (B, T) inputs and targets.</summary>
public sealed record PackedPass(TokenWindow[] Windows, (long[] Inputs, long[] Targets, int Length) Packed);

/// <summary>A group of documents planned into windows and packed into forward passes by <see cref="DocumentScorer.Pack"/>:
/// each document's prediction count and window count, and the passes.</summary>
public sealed record PackedDocuments(int[] Predictions, int[] WindowCounts, PackedPass[] Passes);
