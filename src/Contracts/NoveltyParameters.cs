namespace Reweighting.Contracts;

/// <summary>A document-level noise detector fitted against a clean reference: everything needed to recompute a
/// document's distance to the reference and its posterior probability of being noise.</summary>
/// <param name="Scale">Per-feature divisor (1.4826 × the reference's median absolute deviation).</param>
/// <param name="Reference">The clean reference's feature vectors, unscaled.</param>
/// <param name="Stream">A uniform sample of the stream's feature vectors, unscaled: the denominator of the density ratio.</param>
/// <param name="NoiseShare">The estimated share of noise in the stream, π̂.</param>
/// <param name="DistanceThreshold">The distance a noisy document lies beyond: the reference's own leave-one-out distance at
/// the (1 − α) quantile, times the detector's distance factor (1 in versions stored before it existed).</param>
/// <param name="Neighbours">k, the nearest reference documents a distance averages over.</param>
/// <param name="Bandwidth">The Gaussian kernel's width in scaled units.</param>
/// <param name="PosteriorThreshold">The posterior a noisy document exceeds; versions stored before it was recorded used
/// 1/2.</param>
public sealed record NoveltyParameters(
    double[] Scale,
    double[][] Reference,
    double[][] Stream,
    double NoiseShare,
    double DistanceThreshold,
    int Neighbours,
    double Bandwidth,
    double PosteriorThreshold = 0.5);
