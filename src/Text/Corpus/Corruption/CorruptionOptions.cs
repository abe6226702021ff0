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
