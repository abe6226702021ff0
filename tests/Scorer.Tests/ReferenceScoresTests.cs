using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Gpt;
using Reweighting.Scorer.Labelling;
using Reweighting.Statistics;
using Xunit;

namespace Reweighting.Scorer.Tests;

/// <summary>The scorer's labelling reference when the proxy was trained on it: each document the proxy trained on is scored
/// by the cross-fitted fold copy that never saw it; the others by the proxy itself.</summary>
public sealed class ReferenceScoresTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "reweight-reference-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Documents_the_proxy_trained_on_are_scored_out_of_fold_and_the_rest_by_the_proxy()
    {
        // A copy of the tiny proxy with two fold models (other weights) over the first half of the reference's texts.
        var checkpoint = Path.Combine(_dir, "proxy");
        Directory.CreateDirectory(checkpoint);
        foreach (var file in Directory.GetFiles(TinyProxy.Directory)) File.Copy(file, Path.Combine(checkpoint, Path.GetFileName(file)));
        var config = Checkpoint.LoadConfig(checkpoint);
        for (var k = 0; k < 2; k++)
        {
            using var fold = new GptModel(config, seed: (ulong)(100 + k));
            Checkpoint.Save(CrossFitFolds.ModelDirectory(checkpoint, k), fold);
        }
        var texts = Corpus.Texts(24, seed: 5).Where(t => t.Split(' ').Length > 4).Take(16).ToList();
        var trained = texts.Take(8).ToList();
        var folds = CrossFitFolds.For(trained, 2);
        folds.Save(checkpoint);
        folds.Sizes().Should().OnlyContain(n => n > 0, "both folds hold a trained document");
        var path = Path.Combine(_dir, "reference.jsonl");
        File.WriteAllLines(path, texts.Select((t, i) => JsonSerializer.Serialize(new { id = $"r{i}", text = t })));

        using var scorer = TinyProxy.Load();
        var outOfFold = ReferenceScores.Score(scorer, checkpoint, path, NullLogger.Instance);
        var inSample = ReferenceScores.Score(scorer, modelDirectory: null, path, NullLogger.Instance);

        // What each document should get: the fold model that left it out, or the proxy.
        var expected = new List<LossStatistics>();
        for (var k = 0; k < 2; k++)
        {
            using var foldScorer = scorer.WithModel(Checkpoint.LoadModel(CrossFitFolds.ModelDirectory(checkpoint, k)));
            var share = texts.Where(t => folds.FoldOf(t) == k).ToList();
            expected.AddRange(foldScorer.Score(share.Select(foldScorer.Tokenise).ToList()).Select(s => s.Statistics));
        }
        var unseen = texts.Where(t => folds.FoldOf(t) is null).ToList();
        unseen.Should().HaveCount(8);
        expected.AddRange(scorer.Score(unseen.Select(scorer.Tokenise).ToList()).Select(s => s.Statistics));

        outOfFold.Select(Key).Should().BeEquivalentTo(expected.Select(Key));
        inSample.Select(Key).Should().BeEquivalentTo(scorer.Score(texts.Select(scorer.Tokenise).ToList()).Select(s => Key(s.Statistics)));
        outOfFold.Select(Key).Intersect(inSample.Select(Key)).Should().HaveCount(8, "only the unseen documents score alike");
        outOfFold.Should().OnlyContain(s => !double.IsNaN(s.Compression), "each keeps its text's compression ratio");
        outOfFold.Select(s => s.OrderGain).Should().BeEquivalentTo(texts.Select(WordOrder.Gain), "and its order gain (five words or more)");
    }

    private static (long, double, double) Key(LossStatistics s) => (s.Count, Math.Round(s.Mean, 5), Math.Round(s.Variance, 5));
}
