using Reweighting.Contracts;

namespace Reweighting.Gmm;

/// <summary>Which label each mixture component stands for.</summary>
public static class ComponentLabels
{
    /// <summary>The default map: components ranked by the loss mean of their centre (feature 0, which the transform
    /// and standardisation keep monotonic) split into thirds: lowest easy, middle hard, highest noisy.
    /// With K = 3 that is exactly easy, hard, noisy in ascending order.</summary>
    public static SampleLabel[] ByAscendingMeanLoss(IReadOnlyList<double[]> means)
    {
        var k = means.Count;
        var order = Enumerable.Range(0, k).OrderBy(c => means[c][0]).ThenBy(c => c).ToArray();
        var labels = new SampleLabel[k];
        for (var rank = 0; rank < k; rank++)
            labels[order[rank]] = (SampleLabel)(rank * 3 / k);
        return labels;
    }
}
