using Reweighting.Contracts;
using Reweighting.Gmm;

namespace Reweighting.Scorer;

/// <summary>Where the scorer gets its labels: the GMM version in force, and a feed of the statistics it stores so the
/// labeller can fill its warm-up reservoir and refit. Implemented by the GMM fitter (src/Scorer/Labelling); a fixed
/// version or no GMM at all are <see cref="FixedDocumentLabeller"/>.</summary>
/// <remarks>Before the first fit <see cref="Current"/> is null and documents are stored with a provisional verdict
/// (<see cref="ProvisionalVerdict"/>): gmm_version NULL, no responsibilities, confidence 0. The labeller relabels those
/// rows from their stored statistics once a version exists (<c>ScoreRelabeller</c>).</remarks>
public interface IDocumentLabeller
{
    /// <summary>The GMM version that labels documents now, or null before the first fit. The scorer reads it once per
    /// batch, so every document of a batch names the same version.</summary>
    ActiveGmm? Current { get; }

    /// <summary>Score rows of a batch that has just committed (never rows of a batch that was abandoned). Called on the
    /// scorer's loop thread: it must be quick and must not block (queue the work, fit elsewhere).</summary>
    void Observe(IReadOnlyList<SampleScore> committed);
}

/// <summary>A stored GMM version ready to label documents.</summary>
/// <param name="Version">The version as stored in <c>gmm_models</c>.</param>
/// <param name="Labeller">Its mixture, feature map and label map.</param>
public sealed record ActiveGmm(int Version, GmmLabeller Labeller)
{
    /// <summary>K, the number of components (responsibilities per document).</summary>
    public int Components => Labeller.Mixture.Components;

    /// <summary>The verdict for one document's (loss mean, loss variance) (a per-token mixture only).</summary>
    public LabelAssignment Assign(double lossMean, double lossVariance) => Labeller.Assign(lossMean, lossVariance);

    /// <summary>The verdict for one scored document; one the mixture cannot place (one token, or no bytes under a per-byte
    /// mixture) is placed at (0, 0), as empty documents always were.</summary>
    public LabelAssignment Assign(Statistics.LossStatistics statistics) => Labeller.Assign(statistics) ?? Labeller.AssignPair(0, 0);

    /// <summary>The verdict for a stored row, or null when it cannot be placed.</summary>
    public LabelAssignment? Assign(StoredStatistics row) => Labeller.Assign(row);

    /// <summary>A labeller for a stored GMM version.</summary>
    public static ActiveGmm From(GmmModel model) => new(model.Version, GmmLabeller.FromModel(model));
}

/// <summary>The verdict a document gets before any GMM exists.</summary>
public static class ProvisionalVerdict
{
    /// <summary>Easy: the label whose weight is the uniform one in the cluster heuristic, so a consumer that ignores the
    /// missing GMM version trains on the document unweighted. Its confidence is 0 and its version NULL.</summary>
    public const SampleLabel Label = SampleLabel.Easy;

    /// <summary>No responsibilities (K = 0), confidence 0.</summary>
    public static LabelAssignment Assignment { get; } = new(Label, 0.0, []);
}
