using Reweighting.Contracts.Batches;

namespace Reweighting.Contracts.Tests;

/// <summary>Scored batches for codec tests.</summary>
internal static class SampleBatches
{
    public static readonly DateTimeOffset CreatedAt = new(2025, 3, 14, 15, 9, 26, TimeSpan.Zero);

    public static ScoredDocument Document(string id, int components, params int[][] windows) => new(
        id, "web", 17, 68, 3.25, 0.5, SampleLabel.Hard, 0.75f,
        Enumerable.Range(0, components).Select(k => 1f / components).ToArray(),
        WindowedTokens.FromWindows(windows));

    /// <summary>A small batch with a bit of everything: two documents, K=2, a null domain, an empty window, one
    /// document with scored bytes, a compression ratio and an order gain and one (without tokens) without.</summary>
    public static ScoredBatch Small() => new(
        Guid.Parse("00112233-4455-6677-8899-aabbccddeeff"), "gpt2-proxy", 3, CreatedAt, 2,
        [
            new ScoredDocument("d1", "web", 4, 9, 2.5, 0.25, SampleLabel.Easy, 0.5f, [0.5f, 0.5f],
                WindowedTokens.FromWindows([1, 200], []), CompressionRatio: 0.5, OrderGain: 0.125),
            new ScoredDocument("é", null, 0, null, 0, 0, SampleLabel.Noisy, 1f, [0f, 1f], WindowedTokens.Empty),
        ]);

    /// <summary>The batch as a reader of schema 1.0 bytes sees it: the same, with no document's scored bytes, compression
    /// ratio or order gain known.</summary>
    public static ScoredBatch WithoutScoredBytes(ScoredBatch batch) => batch with
    {
        Documents = batch.Documents.Select(d => d with { ScoredBytes = null, CompressionRatio = null, OrderGain = null }).ToList(),
    };

    /// <summary>The batch as a reader of schema 1.1 bytes sees it: no document's compression ratio or order gain known.</summary>
    public static ScoredBatch WithoutCompression(ScoredBatch batch) =>
        batch with { Documents = batch.Documents.Select(d => d with { CompressionRatio = null, OrderGain = null }).ToList() };

    /// <summary>The batch as a reader of schema 1.2 bytes sees it: no document's order gain known.</summary>
    public static ScoredBatch WithoutOrderGain(ScoredBatch batch) =>
        batch with { Documents = batch.Documents.Select(d => d with { OrderGain = null }).ToList() };
}
