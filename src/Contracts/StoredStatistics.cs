namespace Reweighting.Contracts;

/// <summary>A stored score row's statistics, as a relabelling reads them: the scored tokens, their loss mean and
/// population variance, and the UTF-8 bytes they cover (null on rows stored before bytes were counted).</summary>
public readonly record struct StoredStatistics(long Tokens, double Mean, double Variance, long? Bytes);
