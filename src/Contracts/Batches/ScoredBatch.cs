namespace Reweighting.Contracts.Batches;

/// <summary>One message of the <c>scored-batches</c> topic: documents the proxy model scored together, with their
/// statistics, GMM verdicts and token windows. Kafka key = <see cref="BatchId"/>; value = <see cref="ScoredBatchCodec"/>.</summary>
/// <param name="BatchId">Stable id; a resend after a crash carries the same id (the trainer deduplicates on it).</param>
/// <param name="ScorerModel">Id of the proxy model that scored the documents.</param>
/// <param name="GmmVersion">Stored GMM version that labelled them, or null before the first fit.</param>
/// <param name="CreatedAt">When the scorer built the batch; the wire keeps whole microseconds, UTC.</param>
/// <param name="Components">K, the number of GMM components; every document carries K responsibilities (0 before the first fit).</param>
/// <param name="Documents">The scored documents.</param>
public sealed record ScoredBatch(
    Guid BatchId,
    string ScorerModel,
    int? GmmVersion,
    DateTimeOffset CreatedAt,
    int Components,
    IReadOnlyList<ScoredDocument> Documents)
{
    /// <summary>The score rows of this batch, as the store keeps them.</summary>
    public IEnumerable<SampleScore> ToSampleScores() =>
        Documents.Select(d => new SampleScore(d.Id, ScorerModel, d.TokenCount, d.ScoredBytes, d.LossMean, d.LossVariance,
            Array.ConvertAll(d.Responsibilities, r => (double)r), d.Label, d.Confidence, GmmVersion, BatchId, CreatedAt,
            d.CompressionRatio, d.OrderGain));
}

/// <summary>One document of a <see cref="ScoredBatch"/>.</summary>
/// <param name="Id">The document id.</param>
/// <param name="Domain">Its domain tag, when the producer gave one.</param>
/// <param name="TokenCount">Tokens the statistics aggregate (all windows); not necessarily the windows' total.</param>
/// <param name="ScoredBytes">UTF-8 bytes those tokens cover, so loss per byte = LossMean * TokenCount / ScoredBytes;
/// null when unknown (batches of schema 1.0) or when no token was scored. Positive when present.</param>
/// <param name="LossMean">Mean per-token loss, in nats.</param>
/// <param name="LossVariance">Variance of the per-token loss.</param>
/// <param name="Label">The GMM label.</param>
/// <param name="Confidence">Posterior probability of the label, in [0, 1].</param>
/// <param name="Responsibilities">GMM posterior of each component, K values in [0, 1].</param>
/// <param name="Windows">The token windows the trainer trains on.</param>
/// <param name="CompressionRatio">The document's DEFLATE-compressed size over its UTF-8 size; null when not measured
/// (batches before schema 1.2). Positive when present.</param>
/// <param name="OrderGain">The compression ratio of the document's words shuffled minus that of its words in order; null
/// when not measured (batches before schema 1.3) or when the text has no words. Finite when present, and may
/// be 0 or negative.</param>
public sealed record ScoredDocument(
    string Id,
    string? Domain,
    int TokenCount,
    long? ScoredBytes,
    double LossMean,
    double LossVariance,
    SampleLabel Label,
    float Confidence,
    float[] Responsibilities,
    WindowedTokens Windows,
    double? CompressionRatio = null,
    double? OrderGain = null);
