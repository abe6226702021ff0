using Reweighting.Contracts;

namespace Reweighting.Scorer;

/// <summary>Labels with one GMM version for ever (or with none: every document provisional) and ignores what it
/// observes. For scoring against a pinned version, and for tests.</summary>
public sealed class FixedDocumentLabeller(ActiveGmm? gmm) : IDocumentLabeller
{
    private long _observed;

    /// <inheritdoc />
    public ActiveGmm? Current => gmm;

    /// <summary>Score rows observed so far.</summary>
    public long Observed => Interlocked.Read(ref _observed);

    /// <inheritdoc />
    public void Observe(IReadOnlyList<SampleScore> committed) => Interlocked.Add(ref _observed, committed.Count);
}
