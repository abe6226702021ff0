using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Text.Corpus;
using Reweighting.Torch;
using Reweighting.Torch.Distributed;

namespace Reweighting.Cli.Commands;

/// <summary>Trains a proxy's cross-fitted fold models (<see cref="CrossFitFolds"/>) after the proxy itself: each on the
/// proxy's training documents outside its fold, with the same configuration, tokenizer, seed and training options, so
/// its loss on the documents it left out is what the proxy's loss on unseen text of that kind would be.
/// <c>proxy train</c> and <c>reweight demo</c> use it: the labelling proxy is trained on the clean reference, and the
/// reference is scored out of fold.</summary>
internal static class ProxyFolds
{
    /// <summary>The number of folds by default: the reference split in two halves.</summary>
    public const int DefaultCount = 2;

    /// <summary>Fewest training documents a fold may leave its model.</summary>
    private const int MinimumDocuments = 2;

    /// <summary>Trains the folds into <paramref name="checkpoint"/>'s folds directory and writes the manifest last; returns
    /// null (and says why through <paramref name="report"/>) when the documents are too few to split.</summary>
    public static CrossFitFolds? Train(string checkpoint, GptConfig config, long endOfText, IReadOnlyList<CorpusRecord> records,
        IReadOnlyList<long[]> tokens, int count, TrainingOptions options, ProcessGroup? group, Action<string> report,
        Action<TrainingProgress>? progress, CancellationToken cancel)
    {
        if (records.Count != tokens.Count) throw new ArgumentException("one token sequence per training document is needed");
        var folds = CrossFitFolds.For(records.Select(r => r.Text), count);
        var smallest = Enumerable.Range(0, count)
            .Min(k => records.Count(r => CrossFitFolds.Assign(CrossFitFolds.Key(r.Text), count) != k));
        if (smallest < MinimumDocuments)
        {
            report($"cross-fitting skipped: {records.Count} training documents leave a fold model {smallest}; documents the proxy " +
                   "trained on will be scored by the proxy itself");
            return null;
        }
        var leader = group is null || group.Rank == 0;
        var foldsDirectory = Path.Combine(checkpoint, CrossFitFolds.DirectoryName);
        if (leader && Directory.Exists(foldsDirectory)) Directory.Delete(foldsDirectory, recursive: true);
        group?.Barrier();
        var assigned = records.Select(r => CrossFitFolds.Assign(CrossFitFolds.Key(r.Text), count)).ToArray();
        for (var k = 0; k < count; k++)
        {
            var kept = tokens.Where((_, i) => assigned[i] != k).Select(t => (IReadOnlyList<long>)t).ToList();
            report($"fold {k + 1}/{count}: training a copy of the proxy on the {kept.Count} documents outside fold {k + 1} " +
                   $"(its {assigned.Count(a => a == k)} documents are scored by it)");
            var data = new TokenStream(kept, endOfText, options.SequenceLength, options.Seed);
            using var model = new GptModel(config, options.Seed);
            model.To(Device.Parse(options.Device));
            var directory = CrossFitFolds.ModelDirectory(checkpoint, k);
            new GptTrainer(model, data, options) { CheckpointDirectory = directory, Group = group }.Run(progress: progress, cancel: cancel);
            if (cancel.IsCancellationRequested) return null;
            if (leader)
            {
                // A fold is scored, never resumed: its optimiser state would only triple the checkpoint.
                File.Delete(Path.Combine(directory, Checkpoint.OptimizerFile));
                File.Delete(Path.Combine(directory, Checkpoint.StateFile));
            }
        }
        if (leader) folds.Save(checkpoint);
        group?.Barrier();
        return folds;
    }
}
