namespace Reweighting.Contracts;

/// <summary>A stored score row's statistics, as a relabelling reads them: the scored tokens, their loss mean and
/// population variance, the UTF-8 bytes they cover (null on rows stored before bytes were counted), and the document's
/// compression ratio and order gain (null on rows stored before they were measured, and the order gain of a text without
/// words).</summary>
public readonly record struct StoredStatistics(
    long Tokens, double Mean, double Variance, long? Bytes, double? CompressionRatio = null, double? OrderGain = null);
