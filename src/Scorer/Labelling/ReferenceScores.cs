using Microsoft.Extensions.Logging;
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
    /// returns their statistics, each with its text's compression ratio; documents with no prediction (one token) are left
    /// out.</summary>
    /// <exception cref="InvalidDataException">The reference holds no scorable document.</exception>
    public static IReadOnlyList<LossStatistics> Score(ProxyScorer scorer, string path, ILogger logger,
        CancellationToken ct = default)
    {
        var reader = new CorpusReader(onProblem: p => logger.LogWarning("Labelling reference: skipped {Problem}", p));
        var stats = new List<LossStatistics>();
        var chunk = new List<int[]>(Chunk);
        var ratios = new List<double>(Chunk);
        void Flush()
        {
            foreach (var (score, ratio) in scorer.Score(chunk).Zip(ratios))
                if (score.Statistics.Count > 0) stats.Add(score.Statistics with { Compression = ratio });
            chunk.Clear();
            ratios.Clear();
        }
        foreach (var record in reader.Read(path))
        {
            ct.ThrowIfCancellationRequested();
            chunk.Add(scorer.Tokenise(record.Text));
            ratios.Add(TextCompression.Ratio(record.Text));
            if (chunk.Count == Chunk) Flush();
        }
        if (chunk.Count > 0) Flush();
        if (stats.Count == 0) throw new InvalidDataException($"the labelling reference {path} holds no document the proxy can score");
        logger.LogInformation(
            "Labelling reference {Path}: {Documents} clean documents scored; documents far from them, where the stream is " +
            "denser than they are, are labelled noisy",
            path, stats.Count);
        return stats;
    }
}
