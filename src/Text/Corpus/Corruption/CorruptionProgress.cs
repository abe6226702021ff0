namespace Reweighting.Text.Corpus.Corruption;

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
