using Reweighting.Contracts;
using Reweighting.Contracts.Control;

namespace Reweighting.Scorer.Labelling;

/// <summary>The verdict on one document and the stored GMM version that gave it (null before the first fit).</summary>
public sealed record DocumentVerdict(LabelAssignment Assignment, int? GmmVersion)
{
    /// <summary>A document labelled by no GMM: <see cref="ProvisionalVerdict.Assignment"/> (the label the store and the
    /// wire require, confidence 0, no responsibilities) and no version (NULL in <c>sample_scores.gmm_version</c>, −1 on
    /// the wire).</summary>
    public static DocumentVerdict Unlabelled { get; } = new(ProvisionalVerdict.Assignment, null);

    /// <summary>True when a stored GMM version labelled it.</summary>
    public bool IsLabelled => GmmVersion is not null;
}

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
