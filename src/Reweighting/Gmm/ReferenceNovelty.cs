using Reweighting.Contracts;
using Reweighting.Statistics;

namespace Reweighting.Gmm;

/// <summary>Decides per document, not per mixture component, whether it is noise, from where a trusted clean reference
/// (scored by the same proxy) lies. A component of the stream's GMM can hold clean documents and junk together; a
/// document's own neighbourhood cannot hide it.</summary>
/// <remarks>
/// <para>Each document is the vector (loss per byte, ln bytes per token, loss mean per token, ln loss variance, ln
/// compression ratio, ln max(order gain, <see cref="OrderGainFloor"/>)), scaled per feature by the reference's robust
/// spread (1.4826 × median absolute deviation). The compression ratio (<see cref="TextCompression"/>) sees text that
/// repeats itself, which a proxy trained on a stream full of it scores as easy; the order gain (<see cref="WordOrder"/>)
/// sees text whose words carry no order (word salad, shuffled text, lists of single keywords), which keeps its
/// compression ratio.
/// Versions fitted before the order gain was measured have the first five features, those fitted before the compression
/// ratio the first four, and they judge documents on those.</para>
/// <para>Two tests, both of which a noisy document passes:</para>
/// <list type="number">
/// <item>Density ratio. With a stream that is clean text in the share 1 − π and noise in the share π,
/// p_stream(x) = (1 − π) p_ref(x) + π p_noise(x), so P(noise | x) = 1 − (1 − π) p_ref(x) / p_stream(x). Both densities are
/// Gaussian kernel estimates of width <see cref="DefaultBandwidth"/> (the stream's without the document itself); π̂ is the
/// median, over q ∈ {0.5, 0.75, 0.9}, of the stream's excess beyond the reference's q-quantile of distance,
/// (share beyond − (1 − q)) / q, which is what a share π of far-away noise would produce. Posterior &gt;
/// <see cref="DefaultPosteriorThreshold"/>.</item>
/// <item>Distance. The mean distance to the <see cref="DefaultNeighbours"/> nearest reference documents exceeds
/// <see cref="DefaultDistanceFactor"/> times the (1 − <see cref="DefaultAlpha"/>) quantile of the reference's own
/// leave-one-out distances (the quantile alone is a conformal test at level α that clean text fails at most about α of
/// the time, however the stream is made up).</item>
/// </list>
/// <para>k = 3, width 1 and α = 0.1 were chosen on the tuning noise families of the label evaluation and then reported on
/// held-out families; the posterior threshold 0.8 and the distance factor 1.25 were chosen, with the proxy trained on
/// the reference and the order gain, on the 36 tuning cells of three corruption seeds by the evaluation's criterion
/// (the best worst-case F1 of the label; docs/label-eval/labels.md). Each fit stores both, so a stored version keeps
/// judging as it was fitted. The distance alone is the ranking score (ROC-AUC, average precision).</para>
/// </remarks>
public sealed class ReferenceNovelty
{
    /// <summary>Features per document: the four loss features, the compression ratio and the order gain.</summary>
    public const int Dimensions = 6;

    /// <summary>Features of a detector fitted without order gains: the four loss features and the compression ratio (stored
    /// versions from before the order gain was measured, or a reference or stream where some document has none).</summary>
    public const int CompressionDimensions = 5;

    /// <summary>Features of a detector fitted without compression ratios (stored versions from before they were measured).</summary>
    public const int LossDimensions = 4;

    /// <summary>The order gain's resolution, the floor of its feature ln max(order gain, floor): gains below it (0 and
    /// negative ones included) all mean "no order". Long shuffled text measures within about this much of 0 (±0.002 at
    /// 10,000 words); shorter texts scatter more, ±0.015 at 50 words (<see cref="WordOrder"/>).</summary>
    public const double OrderGainFloor = 0.001;

    /// <summary>k, the nearest reference documents a distance averages over.</summary>
    public const int DefaultNeighbours = 3;

    /// <summary>The kernel width, in units of the reference's robust spread.</summary>
    public const double DefaultBandwidth = 1.0;

    /// <summary>The posterior P(noise | x) a document must exceed to be called noise (stored with each fit).</summary>
    public const double DefaultPosteriorThreshold = 0.8;

    /// <summary>How far beyond the conformal quantile a noisy document must lie, as a multiple of it (stored with each
    /// fit, in its distance threshold).</summary>
    public const double DefaultDistanceFactor = 1.25;

    /// <summary>The conformal level: clean text lies beyond the distance threshold about this often.</summary>
    public const double DefaultAlpha = 0.10;

    /// <summary>The stream sample the density ratio keeps (a uniform subsample of a larger one).</summary>
    public const int MaxStreamPoints = 2000;

    /// <summary>Smallest reference: leave-one-out distances need k + 1 documents, and a quantile needs a few of them.</summary>
    public const int MinReference = 2 * DefaultNeighbours + 2;

    private static readonly double[] Quantiles = [0.5, 0.75, 0.9];

    private readonly double[][] _reference;   // scaled
    private readonly double[][] _stream;      // scaled
    private readonly double[] _scale;
    private readonly double _twoBandwidthSquared;

    /// <summary>The stored form.</summary>
    public NoveltyParameters Parameters { get; }

    private ReferenceNovelty(NoveltyParameters parameters)
    {
        var dimensions = parameters.Scale.Length;
        if (dimensions is not (Dimensions or CompressionDimensions or LossDimensions)
            || parameters.Reference.Length == 0 || parameters.Stream.Length == 0
            || parameters.Reference.Concat(parameters.Stream).Any(x => x.Length != dimensions)
            || parameters.Scale.Any(s => !(s > 0) || !double.IsFinite(s))
            || parameters.Neighbours < 1 || parameters.Neighbours > parameters.Reference.Length
            || !(parameters.Bandwidth > 0) || !(parameters.NoiseShare is >= 0 and < 1))
            throw new ArgumentException("inconsistent novelty parameters");
        Parameters = parameters;
        _scale = parameters.Scale;
        _reference = parameters.Reference.Select(Scaled).ToArray();
        _stream = parameters.Stream.Select(Scaled).ToArray();
        _twoBandwidthSquared = 2 * parameters.Bandwidth * parameters.Bandwidth;
    }

    /// <summary>The detector a stored version carries.</summary>
    public static ReferenceNovelty FromParameters(NoveltyParameters parameters) => new(parameters);

    /// <summary>How many features this detector judges on: <see cref="Dimensions"/>, <see cref="CompressionDimensions"/> for a
    /// version fitted without order gains, or <see cref="LossDimensions"/> for one fitted without compression ratios.</summary>
    public int FeatureCount => _scale.Length;

    /// <summary>A document's features, or null when it cannot be placed: no scored token, no counted bytes, or
    /// non-finite statistics. Six with a compression ratio and an order gain, five with the ratio alone, the four loss
    /// features without the ratio.</summary>
    public static double[]? Features(LossStatistics statistics)
    {
        if (statistics.Count == 0 || statistics.Bytes == 0) return null;
        double[] loss = [statistics.LossPerByte, Math.Log(statistics.BytesPerToken), statistics.Mean, Math.Log(statistics.Variance + 1e-6)];
        if (!loss.All(double.IsFinite)) return null;
        if (statistics.Compression is not (> 0 and var c) || !double.IsFinite(c)) return loss;
        return double.IsFinite(statistics.OrderGain)
            ? [.. loss, Math.Log(c), Math.Log(Math.Max(statistics.OrderGain, OrderGainFloor))]
            : [.. loss, Math.Log(c)];
    }

    /// <summary>The features of a stored score row (null without bytes).</summary>
    public static double[]? Features(StoredStatistics row) =>
        row.Bytes is > 0 && row.Tokens > 0 ? Features(GmmInputs.FromRow(row)) : null;

    /// <summary>Whether this detector can judge a document with these features: it has at least the detector's (a detector
    /// ignores the features it was fitted without; a five-feature one cannot judge a document without a compression ratio,
    /// a six-feature one a document without an order gain).</summary>
    public bool CanJudge([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] double[]? features) =>
        features is not null && features.Length >= FeatureCount;

    /// <summary>Fits the detector: the reference's scale and leave-one-out distances, the threshold, and π̂ from the
    /// stream sample.</summary>
    /// <param name="reference">Clean reference documents' features (at least <see cref="MinReference"/>).</param>
    /// <param name="stream">The stream's features (a uniform sample); subsampled to <see cref="MaxStreamPoints"/>.</param>
    /// <param name="seed">Seeds that subsample.</param>
    /// <exception cref="ArgumentException">Too small a reference, an empty stream, or a feature the reference does not vary.</exception>
    public static ReferenceNovelty Fit(IReadOnlyList<double[]> reference, IReadOnlyList<double[]> stream, int seed = 0)
    {
        if (reference.Count < MinReference)
            throw new ArgumentException($"a document-level reference needs at least {MinReference} documents, not {reference.Count}");
        if (stream.Count == 0) throw new ArgumentException("the stream sample is empty");
        // Every document must have the features the detector is fitted on: each text measure only when all have it.
        var shortest = reference.Concat(stream).Min(x => x.Length);
        if (shortest < LossDimensions) throw new ArgumentException($"a document has fewer than the {LossDimensions} loss features");
        var dimensions = Math.Min(shortest, Dimensions);
        reference = [.. reference.Select(x => x[..dimensions])];
        stream = [.. stream.Select(x => x[..dimensions])];
        var scale = new double[dimensions];
        for (var d = 0; d < dimensions; d++)
        {
            var column = reference.Select(x => x[d]).ToArray();
            var median = Median(column);
            var mad = 1.4826 * Median(column.Select(v => Math.Abs(v - median)).ToArray());
            // A feature whose middle half is constant (ties) still has a spread: fall back to the standard deviation.
            if (!(mad > 1e-12)) mad = Math.Sqrt(column.Select(v => (v - column.Average()) * (v - column.Average())).Average());
            if (!(mad > 1e-12)) throw new ArgumentException($"the reference does not vary in feature {d}; it cannot scale it");
            scale[d] = mad;
        }
        var sample = stream.ToArray();
        if (sample.Length > MaxStreamPoints)
        {
            // A partial Fisher-Yates shuffle: the first MaxStreamPoints slots become a uniform subsample.
            var random = new Random(seed);
            for (var i = 0; i < MaxStreamPoints; i++)
            {
                var j = random.Next(i, sample.Length);
                (sample[i], sample[j]) = (sample[j], sample[i]);
            }
            sample = sample[..MaxStreamPoints];
        }
        var provisional = new ReferenceNovelty(
            new NoveltyParameters(scale, [.. reference], sample, 0, 0, DefaultNeighbours, DefaultBandwidth));
        var looDistances = provisional.ReferenceLeaveOneOutDistances();
        Array.Sort(looDistances);
        var threshold = DefaultDistanceFactor * Quantile(looDistances, 1 - DefaultAlpha);
        var streamDistances = stream.Select(provisional.Distance).ToArray();
        var estimates = Quantiles.Select(q =>
        {
            var t = Quantile(looDistances, q);
            var beyond = streamDistances.Count(d => d > t) / (double)streamDistances.Length;
            return Math.Max(0, (beyond - (1 - q)) / q);
        }).ToArray();
        var noiseShare = Math.Min(Median(estimates), 0.95);
        return new ReferenceNovelty(provisional.Parameters with
        {
            NoiseShare = noiseShare, DistanceThreshold = threshold, PosteriorThreshold = DefaultPosteriorThreshold,
        });
    }

    /// <summary>The mean scaled distance from <paramref name="x"/> to its k nearest reference documents: the ranking score.</summary>
    public double Distance(double[] x) => NearestMean(Scaled(x), skip: -1);

    /// <summary>P(noise | x) = 1 − (1 − π̂) p_ref(x) / p_stream(x), clipped to [0, 1]. The stream density leaves out
    /// sample points at distance 0 (the document itself, when the sample holds it).</summary>
    public double Posterior(double[] x)
    {
        var z = Scaled(x);
        double reference = 0, stream = 0;
        foreach (var r in _reference) reference += Math.Exp(-SquaredDistance(z, r) / _twoBandwidthSquared);
        reference /= _reference.Length;
        var n = 0;
        foreach (var s in _stream)
        {
            var d2 = SquaredDistance(z, s);
            if (d2 == 0) continue;
            stream += Math.Exp(-d2 / _twoBandwidthSquared);
            n++;
        }
        if (n == 0 || stream == 0) return reference > 0 ? 0 : 1;
        stream /= n;
        return Math.Clamp(1 - (1 - Parameters.NoiseShare) * reference / stream, 0, 1);
    }

    /// <summary>True when both tests call the document noise; with the posterior, for the label's confidence.</summary>
    public (bool Noisy, double Posterior) Judge(double[] x)
    {
        var posterior = Posterior(x);
        return (posterior > Parameters.PosteriorThreshold && Distance(x) > Parameters.DistanceThreshold, posterior);
    }

    /// <summary>Every reference document's distance to its k nearest other reference documents.</summary>
    public double[] ReferenceLeaveOneOutDistances() =>
        Enumerable.Range(0, _reference.Length).Select(i => NearestMean(_reference[i], skip: i)).ToArray();

    private double NearestMean(double[] z, int skip)
    {
        var k = Parameters.Neighbours;
        Span<double> best = stackalloc double[k];
        best.Fill(double.PositiveInfinity);
        for (var i = 0; i < _reference.Length; i++)
        {
            if (i == skip) continue;
            var d = Math.Sqrt(SquaredDistance(z, _reference[i]));
            if (d >= best[k - 1]) continue;
            var j = k - 1;
            while (j > 0 && best[j - 1] > d)
            {
                best[j] = best[j - 1];
                j--;
            }
            best[j] = d;
        }
        double sum = 0;
        var counted = 0;
        foreach (var d in best)
            if (double.IsFinite(d))
            {
                sum += d;
                counted++;
            }
        return counted == 0 ? double.PositiveInfinity : sum / counted;
    }

    private double[] Scaled(double[] x)
    {
        if (x.Length < _scale.Length)
            throw new ArgumentException($"this detector judges {_scale.Length} features; a document has {x.Length}");
        var z = new double[_scale.Length];
        for (var d = 0; d < z.Length; d++) z[d] = x[d] / _scale[d];
        return z;
    }

    private static double SquaredDistance(double[] a, double[] b)
    {
        double sum = 0;
        for (var d = 0; d < a.Length; d++) sum += (a[d] - b[d]) * (a[d] - b[d]);
        return sum;
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return Quantile(sorted, 0.5);
    }

    /// <summary>Linear-interpolation quantile of sorted values (numpy's default).</summary>
    private static double Quantile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + (position - low) * (sorted[high] - sorted[low]);
    }
}
