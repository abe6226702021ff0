namespace Reweighting.Storage.Export;

/// <summary>One document's latest score and label as an export writes it: the columns other tools join on.</summary>
/// <param name="Id">The document id (the corpus's own, or the reader's "shard:row").</param>
/// <param name="SourceFile">The corpus shard the document came from ("source" up to its last ":N"), when known.</param>
/// <param name="SourceRow">Its line in that shard (Parquet: its row, from 0), when the source names one.</param>
/// <param name="Domain">The document's domain, when it has one.</param>
/// <param name="Label">easy, hard or noisy.</param>
/// <param name="LabelConfidence">The GMM responsibility of the label's component(s).</param>
/// <param name="LossMean">Mean token loss under the proxy (nats).</param>
/// <param name="LossVariance">Population variance of the token losses.</param>
/// <param name="TokenCount">Scored tokens.</param>
/// <param name="ScoredBytes">UTF-8 bytes of the scored tokens, where counted.</param>
/// <param name="LossPerByte">Total loss over scored bytes, where the bytes are known.</param>
/// <param name="GmmVersion">The GMM version that labelled it (null: labelled before any fit).</param>
/// <param name="ScorerModel">The proxy model that scored it.</param>
/// <param name="ScoredAt">When it was scored.</param>
/// <param name="CompressionRatio">The text's DEFLATE size over its UTF-8 size, where measured.</param>
/// <param name="OrderGain">The compression ratio of the text's words shuffled minus that of its words in order, where
/// measured (null too for a text without words).</param>
public sealed record ExportedScore(
    string Id, string? SourceFile, long? SourceRow, string? Domain, string Label, double LabelConfidence, double LossMean,
    double LossVariance, long TokenCount, long? ScoredBytes, double? LossPerByte, int? GmmVersion, string ScorerModel,
    DateTimeOffset ScoredAt, double? CompressionRatio = null, double? OrderGain = null);
