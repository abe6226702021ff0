using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Reweighting.Gmm;
using Reweighting.Scorer.Labelling;
using Xunit;
using Xunit.Abstractions;

namespace Reweighting.Scorer.Tests;

/// <summary>The labelling reference as the scorer reads it: each document scored by the proxy with its compression
/// ratio, and a warning when there are too few documents to draw the clean edge finely.</summary>
public sealed class ReferenceScoresTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reweight-reference-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Reference(int documents)
    {
        var path = Path.Combine(_dir, $"reference-{documents}.jsonl");
        File.WriteAllLines(path,
            Corpus.Texts(documents, seed: 5).Select((t, i) => JsonSerializer.Serialize(new { id = $"r{i}", text = t })));
        return path;
    }

    [Theory]
    [InlineData(40, true)]
    [InlineData(ReferenceNovelty.RecommendedReference, false)]
    public void Every_document_is_scored_with_its_ratio_and_a_small_reference_is_warned_about(int documents, bool warned)
    {
        using var loggers = new TestOutputLoggers(output);
        using var scorer = TinyProxy.Load();

        var statistics = ReferenceScores.Score(scorer, Reference(documents), loggers.CreateLogger("ReferenceScores"));

        statistics.Should().HaveCount(documents).And.OnlyContain(s => s.Count > 0 && s.Compression > 0);
        var warning = loggers.Lines.Where(l => l.Contains($"fewer than {ReferenceNovelty.RecommendedReference}")).ToList();
        if (warned) warning.Should().ContainSingle().Which.Should().Contain($"holds {documents} documents").And.Contain("give more clean");
        else warning.Should().BeEmpty();
    }
}
