namespace Reweighting.Text.Corpus.Corruption;

/// <summary>How a clean corpus is turned into a labelled noisy one.</summary>
/// <param name="Fraction">Share of documents to replace, in [0, 1]; round(Fraction × N) documents, halves away from zero.</param>
/// <param name="Seed">Seeds every random choice: which documents, which family each gets, and the noisy texts.</param>
/// <param name="Families">Names of the noise families to use; null or empty for all of them.</param>
/// <param name="Reader">How the input corpus is read.</param>
public sealed record CorruptionOptions(double Fraction, int Seed, IReadOnlyList<string>? Families = null, CorpusReaderOptions? Reader = null)
{
    /// <summary>Most distinct words kept from the input as material for word salad, tables and markup.</summary>
    public const int MaxVocabulary = 200_000;

    /// <summary>Throws when the options cannot be used.</summary>
    /// <exception cref="ArgumentException">The fraction is outside [0, 1] or a family name is unknown.</exception>
    public void Validate()
    {
        if (!double.IsFinite(Fraction) || Fraction < 0 || Fraction > 1)
            throw new ArgumentException($"the fraction must be between 0 and 1, got {Fraction}");
        NoiseFamilies.Select(Families);
    }
}

/// <summary>What a corruption run did.</summary>
/// <param name="Documents">Records read and written.</param>
/// <param name="Corrupted">Records replaced by noise.</param>
/// <param name="PerFamily">Replaced records per family name, every selected family listed.</param>
/// <param name="SkippedRecords">Input records the reader could not use (they are not written).</param>
/// <param name="VocabularySize">Distinct words sampled from the input.</param>
public sealed record CorruptionSummary(long Documents, long Corrupted, IReadOnlyDictionary<string, long> PerFamily, long SkippedRecords, int VocabularySize);

/// <summary>Which pass over the input a corruption run is in.</summary>
public enum CorruptionPhase
{
    /// <summary>First pass: counting documents and collecting the vocabulary.</summary>
    Counting,

    /// <summary>Second pass: writing the labelled corpus.</summary>
    Writing,
}

/// <summary>How far a corruption run has got.</summary>
/// <param name="Phase">The pass under way.</param>
/// <param name="Documents">Documents done in this pass.</param>
/// <param name="Total">Documents in the corpus, once the first pass has counted them.</param>
public sealed record CorruptionProgress(CorruptionPhase Phase, long Documents, long? Total);
