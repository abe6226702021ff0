namespace Reweighting.Contracts;

/// <summary>The proxy model's verdict on one document: its token-loss statistics and the GMM label they earned.</summary>
/// <param name="DocumentId">The scored document.</param>
/// <param name="ScorerModel">Id of the proxy model that scored it; scores are kept per (document, scorer model).</param>
/// <param name="TokenCount">Tokens the statistics aggregate (all windows of a long document).</param>
/// <param name="ScoredBytes">UTF-8 bytes those tokens cover (loss per byte = LossMean * TokenCount / ScoredBytes); null
/// when unknown (scored before bytes were counted) or when no token was scored.</param>
/// <param name="LossMean">Mean per-token loss, in nats.</param>
/// <param name="LossVariance">Variance of the per-token loss.</param>
/// <param name="Responsibilities">GMM posterior of each component, in component order; sums to 1.</param>
/// <param name="Label">The label the GMM's label map gives.</param>
/// <param name="LabelConfidence">Posterior probability of <paramref name="Label"/>, in [0, 1].</param>
/// <param name="GmmVersion">The stored GMM version that produced the label; null before the first fit.</param>
/// <param name="BatchId">The scored batch this row travelled in.</param>
/// <param name="ScoredAt">When the scorer produced it.</param>
/// <param name="CompressionRatio">The document's DEFLATE-compressed size over its UTF-8 size; null when not measured.</param>
/// <param name="OrderGain">The compression ratio of the document's words shuffled minus that of its words in order (about 0
/// for text whose words carry no order); null when not measured or when the text has no words. May be 0 or
/// negative.</param>
public sealed record SampleScore(
    string DocumentId,
    string ScorerModel,
    int TokenCount,
    long? ScoredBytes,
    double LossMean,
    double LossVariance,
    double[] Responsibilities,
    SampleLabel Label,
    double LabelConfidence,
    int? GmmVersion,
    Guid BatchId,
    DateTimeOffset ScoredAt,
    double? CompressionRatio = null,
    double? OrderGain = null);
