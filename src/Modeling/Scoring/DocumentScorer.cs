using Reweighting.Modeling.Gpt;
using Reweighting.Torch;
using static Reweighting.Torch.Torch;

namespace Reweighting.Modeling.Scoring;

/// <summary>The per-token losses of one document: entry i is the loss of predicting token i+1.</summary>
public sealed record DocumentLosses(int Index, float[] Losses);

/// <summary>Scores documents with a GPT: every next-token prediction of every document gets its loss, long
/// documents in windows of the context length (<see cref="TokenWindows"/>), windows of several documents
/// packed into batches of up to <c>batchSize</c> rows. Runs without gradients, in bfloat16 autocast on CUDA.</summary>
public sealed class DocumentScorer(GptModel model, Device device, int batchSize = 16, int? stride = null)
{
    private readonly int stride = stride ?? model.Config.ContextLength;

    /// <summary>Yields each document's losses in input order, as soon as all of its windows are scored.</summary>
    public IEnumerable<DocumentLosses> Score(IEnumerable<IReadOnlyList<long>> documents)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be positive");
        var pending = new Dictionary<int, (float[] Losses, int Filled, int Remaining)>();
        var windows = new List<TokenWindow>();
        var nextToEmit = 0;
        var index = 0;
        var ready = new SortedDictionary<int, float[]>();
        foreach (var doc in documents)
        {
            var planned = TokenWindows.Plan(doc, model.Config.ContextLength, stride, index).ToList();
            pending[index] = (new float[Math.Max(0, doc.Count - 1)], 0, planned.Count);
            if (planned.Count == 0) ready[index] = pending[index].Losses;
            windows.AddRange(planned);
            index++;
            while (windows.Count >= batchSize)
            {
                RunBatch(windows.GetRange(0, batchSize), pending, ready);
                windows.RemoveRange(0, batchSize);
            }
            while (ready.Remove(nextToEmit, out var done)) yield return new DocumentLosses(nextToEmit++, done);
        }
        if (windows.Count > 0) RunBatch(windows, pending, ready);
        while (ready.Remove(nextToEmit, out var done)) yield return new DocumentLosses(nextToEmit++, done);
    }

    private void RunBatch(List<TokenWindow> batch, Dictionary<int, (float[] Losses, int Filled, int Remaining)> pending,
        SortedDictionary<int, float[]> ready)
    {
        var (inputs, targets, length) = TokenWindows.Pack(batch);
        float[] losses;
        using (var scope = DisposeScope.Open())
        using (NoGrad())
        using (device.Type == DeviceType.Cuda ? Autocast(DeviceType.Cuda) : default(AutocastScope?))
        {
            var wasTraining = model.IsTraining;
            model.Eval();
            losses = model.TokenLosses(FromSpan<long>(inputs, [batch.Count, length], device), FromSpan<long>(targets, [batch.Count, length], device))
                .ToArray<float>();
            model.Train(wasTraining);
        }
        for (var b = 0; b < batch.Count; b++)
        {
            var w = batch[b];
            var (docLosses, filled, remaining) = pending[w.Document];
            for (var i = 0; i < w.Targets.Length; i++)
            {
                if (w.Targets[i] == GptModel.IgnoreIndex) continue;
                docLosses[filled++] = losses[b * length + i];
            }
            if (--remaining == 0)
            {
                pending.Remove(w.Document);
                ready[w.Document] = docLosses;
            }
            else
            {
                pending[w.Document] = (docLosses, filled, remaining);
            }
        }
    }
}
