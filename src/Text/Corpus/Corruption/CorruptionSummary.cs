namespace Reweighting.Text.Corpus.Corruption;

/// <summary>What a corruption run did.</summary>
/// <param name="Documents">Records read and written.</param>
/// <param name="Corrupted">Records replaced by noise.</param>
/// <param name="PerFamily">Replaced records per family name, every selected family listed.</param>
/// <param name="SkippedRecords">Input records the reader could not use (they are not written).</param>
/// <param name="VocabularySize">Distinct words sampled from the input.</param>
public sealed record CorruptionSummary(long Documents, long Corrupted, IReadOnlyDictionary<string, long> PerFamily, long SkippedRecords, int VocabularySize);
