using Microsoft.Extensions.Logging;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Scorer.Pipeline;
using Reweighting.Statistics;
using Reweighting.Text.Corpus;

namespace Reweighting.Scorer.Labelling;

/// <summary>The clean reference of reference-anchored labelling: its documents scored by the scorer's own proxy, so
/// they lie in the same (loss mean, loss variance) space as the stream.</summary>
public static class ReferenceScores
{
    /// <summary>Documents scored per forward call.</summary>
    private const int Chunk = 64;

    /// <summary>Scores every document of <paramref name="path"/> (JSONL, JSONL.gz, text, or a directory of them) and
    /// returns their statistics, each with its text's compression ratio and order gain; documents with no prediction (one token) are left
    /// out. When the proxy (in <paramref name="modelDirectory"/>) has cross-fitted folds, a document it trained on is
    /// scored by the fold copy that never saw it, so a reference that was the proxy's training corpus lies where unseen
    /// clean text does.</summary>
    /// <exception cref="InvalidDataException">The reference holds no scorable document.</exception>
    public static IReadOnlyList<LossStatistics> Score(ProxyScorer scorer, string? modelDirectory, string path, ILogger logger,
        CancellationToken ct = default)
    {
        var folds = modelDirectory is null ? null : CrossFitFolds.Load(modelDirectory);
        var reader = new CorpusReader(onProblem: p => logger.LogWarning("Labelling reference: skipped {Problem}", p));
        var records = reader.Read(path).ToList();
        var routes = records.Select(r => folds?.FoldOf(r.Text)).ToArray();
        var stats = new List<LossStatistics>();
        for (var pass = -1; pass < (folds?.Count ?? 0); pass++)
        {
            var fold = pass < 0 ? (int?)null : pass;
            var share = records.Where((_, i) => routes[i] == fold).ToList();
            if (share.Count == 0) continue;
            using var foldScorer = fold is { } k
                ? scorer.WithModel(Checkpoint.LoadModel(CrossFitFolds.ModelDirectory(modelDirectory!, k), scorer.Device))
                : null;
            Score(foldScorer ?? scorer, share, stats, ct);
        }
        if (stats.Count == 0) throw new InvalidDataException($"the labelling reference {path} holds no document the proxy can score");
        var outOfFold = routes.Count(r => r is not null);
        logger.LogInformation(
            "Labelling reference {Path}: {Documents} clean documents scored ({OutOfFold} of them the proxy trained on, by the " +
            "fold copies that never saw them); documents far from them, where the stream is denser than they are, are labelled noisy",
            path, stats.Count, outOfFold);
        if (outOfFold == 0 && folds is null)
            logger.LogInformation("Labelling reference: the proxy has no cross-fitted folds; if it was trained on the reference, " +
                                  "its scores are in-sample (train it with `proxy train --folds 2`)");
        return stats;
    }

    private static void Score(ProxyScorer scorer, IReadOnlyList<CorpusRecord> records, List<LossStatistics> stats, CancellationToken ct)
    {
        foreach (var chunk in records.Chunk(Chunk))
        {
            ct.ThrowIfCancellationRequested();
            var tokens = chunk.Select(r => scorer.Tokenise(r.Text)).ToList();
            foreach (var (score, record) in scorer.Score(tokens).Zip(chunk))
                if (score.Statistics.Count > 0) stats.Add(score.Statistics.WithTextMeasures(record.Text));
        }
    }
}
