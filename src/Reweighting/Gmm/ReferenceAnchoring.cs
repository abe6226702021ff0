using Reweighting.Contracts;

namespace Reweighting.Gmm;

/// <summary>Names the noise of a mixture fitted on the stream from where clean text lies, not from a rule about centres:
/// a trusted clean reference (the held-out validation set meta-EM already needs), scored by the same proxy and mapped
/// into the same feature space, shows which components clean documents populate. A component the reference leaves
/// (nearly) empty, compared with its share of the stream, is noise, wherever it lies: below, above or beside the bulk.</summary>
/// <remarks>
/// With a stream of clean text and a share ε of noise, a component that holds only clean documents gets reference
/// mass r_c ≈ w_c / (1 − ε) ≥ w_c, and one that holds only noise gets r_c ≈ 0. So the ratio r_c / w_c is near 1 or above
/// for clean components and near 0 for noise; <see cref="DefaultOccupancyRatio"/> sits between. The clean components
/// split easy and hard by their centre loss mean as the typical-mass rules do.
/// </remarks>
public static class ReferenceAnchoring
{
    /// <summary>A component is noisy when the reference fills it less than this fraction of its share of the stream.</summary>
    public const double DefaultOccupancyRatio = 0.25;

    /// <summary>Each component's share of the reference: the mean, over the reference points, of its responsibility.</summary>
    /// <exception cref="ArgumentException">No reference points, or a point of the wrong dimension.</exception>
    public static double[] ReferenceMass(GmmParameters parameters, IReadOnlyList<double[]> reference)
    {
        var mixture = GaussianMixture.FromParameters(parameters);
        if (reference.Count == 0) throw new ArgumentException("reference-anchored labelling needs at least one reference document");
        var mass = new double[mixture.Components];
        var responsibility = new double[mixture.Components];
        foreach (var x in reference)
        {
            if (x.Length != mixture.Dimensions)
                throw new ArgumentException($"a reference point has {x.Length} features; the mixture has {mixture.Dimensions}");
            mixture.PredictProba(x, responsibility);
            for (var c = 0; c < mass.Length; c++) mass[c] += responsibility[c];
        }
        for (var c = 0; c < mass.Length; c++) mass[c] /= reference.Count;
        return mass;
    }

    /// <summary><see cref="Map(GmmParameters, IReadOnlyList{double[]}, double)"/> for a reference given as raw (loss mean,
    /// loss variance) statistics, carried into the mixture's feature space by its own feature map.</summary>
    public static SampleLabel[] MapStatistics(GmmParameters parameters, IReadOnlyList<(double Mean, double Variance)> reference,
        double occupancyRatio = DefaultOccupancyRatio)
    {
        var features = StatFeatures.FromParameters(parameters);
        var points = reference.Select(r =>
        {
            var x = new double[StatFeatures.Dimensions];
            features.Apply(r.Mean, r.Variance, x);
            return x;
        }).ToList();
        return Map(parameters, points, occupancyRatio);
    }

    /// <summary>The label of every component: noisy where reference mass / stream weight &lt; <paramref name="occupancyRatio"/>;
    /// the others easy (lower half) or hard (upper half) by centre loss mean. At least one component stays clean: if the
    /// reference fills none enough, the one it fills most, relative to its weight, is kept.</summary>
    public static SampleLabel[] Map(GmmParameters parameters, IReadOnlyList<double[]> reference,
        double occupancyRatio = DefaultOccupancyRatio)
    {
        if (occupancyRatio is not (> 0 and < 1))
            throw new ArgumentOutOfRangeException(nameof(occupancyRatio), "the occupancy ratio must be in (0, 1)");
        var referenceMass = ReferenceMass(parameters, reference);
        var k = parameters.Weights.Length;
        var ratios = Enumerable.Range(0, k).Select(c => referenceMass[c] / Math.Max(parameters.Weights[c], 1e-300)).ToArray();
        var clean = Enumerable.Range(0, k).Where(c => ratios[c] >= occupancyRatio).ToList();
        if (clean.Count == 0) clean.Add(Array.IndexOf(ratios, ratios.Max()));
        var labels = Enumerable.Repeat(SampleLabel.Noisy, k).ToArray();
        ComponentLabels.SplitEasyHard(clean, parameters.Means, parameters.Covariances, labels);
        return labels;
    }
}
