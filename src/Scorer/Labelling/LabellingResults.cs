using Reweighting.Contracts;
using Reweighting.Contracts.Control;

namespace Reweighting.Scorer.Labelling;

/// <summary>The verdict on one document and the stored GMM version that gave it (null before the first fit).</summary>
public sealed record DocumentVerdict(LabelAssignment Assignment, int? GmmVersion)
{
    /// <summary>What a document gets before the first fit, in the form the store and the wire accept: no GMM version
    /// (NULL in <c>sample_scores.gmm_version</c>, −1 on the wire), no responsibilities (K = 0), confidence 0, and the
    /// label <c>hard</c> — <c>sample_scores.label</c> is NOT NULL, and hard is what a mixture that cannot tell documents
    /// apart (one typical component) says. Readers tell these rows by the missing version, and
    /// <c>reweight relabel</c> gives them a real label from their stored statistics later.</summary>
    public static LabelAssignment NoVerdict { get; } = new(SampleLabel.Hard, 0, []);

    /// <summary>A document labelled by no GMM.</summary>
    public static DocumentVerdict Unlabelled { get; } = new(NoVerdict, null);

    /// <summary>True when a stored GMM version labelled it.</summary>
    public bool IsLabelled => GmmVersion is not null;
}

/// <summary>The verdicts on a batch of documents, all from one GMM version, as a scored batch carries them.</summary>
/// <param name="GmmVersion">The version every assignment came from, or null when none is fitted yet.</param>
/// <param name="Components">K of that version (responsibilities per document); 0 without one.</param>
/// <param name="Assignments">One per document, in the order given.</param>
public sealed record LabelledBatch(int? GmmVersion, int Components, IReadOnlyList<LabelAssignment> Assignments);

/// <summary>A GMM version the labeller fitted and stored.</summary>
/// <param name="Model">The stored version.</param>
/// <param name="WarmStarted">True when EM started from the previous version's parameters.</param>
/// <param name="Iterations">EM iterations of the fit (of the best restart for a cold fit).</param>
/// <param name="Converged">Whether EM met its tolerance within its iterations.</param>
/// <param name="DocumentsObserved">Documents the labeller had observed when it took the reservoir sample.</param>
public sealed record GmmVersionStored(GmmModel Model, bool WarmStarted, int Iterations, bool Converged, long DocumentsObserved)
{
    /// <summary>The control event announcing it on the bus.</summary>
    public GmmRefitted ToControlEvent() =>
        new(Model.Version, Model.ScorerModel, Model.Parameters.Components, Model.SampleCount, Model.LogLikelihood);
}
