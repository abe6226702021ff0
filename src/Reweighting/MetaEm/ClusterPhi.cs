using System.Text.Json;
using System.Text.Json.Nodes;
using Reweighting.Contracts;
using Reweighting.Strategies;

namespace Reweighting.MetaEm;

/// <summary>Meta-EM's cluster parameters phi = {c_k, lambda_k, pi_k} and the weights they give.
/// For a sample's features s_i (the GMM's feature space), with d_ik = ||s_i − c_k||² and e_ik = exp(−lambda_k d_ik):
/// responsibilities gamma_ik = pi_k e_ik / sum_j pi_j e_ij, raw weight u_i = sum_k gamma_ik e_ik, and weights
/// w_i = u_i / sum_j u_j capped at 2/M (the excess spread proportionally over the others).
/// phi is stored reparameterised so that any real vector is valid: lambda_k = exp(rho_k) stays positive and
/// pi = softmax(a) stays on the simplex; gradient ascent acts on (c, rho, a).</summary>
public sealed class ClusterPhi
{
    /// <summary>Centres c_k, row-major K × D.</summary>
    public double[] Centres { get; }

    /// <summary>rho_k = log lambda_k.</summary>
    public double[] LogPrecisions { get; }

    /// <summary>a_k with pi = softmax(a).</summary>
    public double[] Logits { get; }

    public int Components => LogPrecisions.Length;
    public int Dimensions => Centres.Length / Components;

    /// <summary>Length of the flat vector (c, rho, a): K·D + 2K.</summary>
    public int Count => Centres.Length + 2 * Components;

    public ClusterPhi(double[] centres, double[] logPrecisions, double[] logits)
    {
        if (logPrecisions.Length == 0 || logits.Length != logPrecisions.Length || centres.Length == 0 || centres.Length % logPrecisions.Length != 0)
            throw new ArgumentException("phi needs K > 0 centres of equal dimension, K precisions and K logits");
        if (centres.Concat(logPrecisions).Concat(logits).Any(v => !double.IsFinite(v))) throw new ArgumentException("phi must be finite");
        Centres = centres;
        LogPrecisions = logPrecisions;
        Logits = logits;
    }

    public double Precision(int k) => Math.Exp(LogPrecisions[k]);

    /// <summary>pi = softmax(a).</summary>
    public double[] MixingWeights()
    {
        var max = Logits.Max();
        var e = Logits.Select(a => Math.Exp(a - max)).ToArray();
        var z = e.Sum();
        return e.Select(v => v / z).ToArray();
    }

    /// <summary>phi from a fitted mixture: c_k its means, pi_k its weights, and lambda_k = D / (2 tr Sigma_k), the
    /// isotropic Gaussian of the same average variance (exp(−||x−c||²/(2 sigma²)) with sigma² = tr Sigma / D).</summary>
    /// <param name="gmm">The mixture.</param>
    /// <param name="width">Kernel width in units of each component's spread: lambda_k = D / (2 width² tr Sigma_k).</param>
    public static ClusterPhi FromMixture(GmmParameters gmm, double width = 1) =>
        FromComponents(gmm, Enumerable.Range(0, gmm.Components).ToArray(), width);

    /// <summary>phi from the components of a fitted mixture that <paramref name="labels"/> does not call noisy (all of them
    /// when it calls every one noisy). A sample's raw weight u_i is large near any centre of phi, so a noisy component
    /// kept in phi would weigh its documents like clean ones; without it, documents near it are far from every centre
    /// and start with weights near 0. For labels anchored on a clean reference, which name noise wherever it lies.</summary>
    public static ClusterPhi FromMixture(GmmParameters gmm, SampleLabel[] labels, double width = 1)
    {
        if (labels.Length != gmm.Components) throw new ArgumentException($"{labels.Length} labels for {gmm.Components} components");
        var clean = Enumerable.Range(0, gmm.Components).Where(c => labels[c] != SampleLabel.Noisy).ToArray();
        return FromComponents(gmm, clean.Length > 0 ? clean : Enumerable.Range(0, gmm.Components).ToArray(), width);
    }

    private static ClusterPhi FromComponents(GmmParameters gmm, int[] components, double width)
    {
        if (!(width > 0)) throw new ArgumentException($"the kernel width must be positive, not {width}");
        var k = components.Length;
        var d = gmm.Dimensions;
        var centres = new double[k * d];
        var rho = new double[k];
        var logits = new double[k];
        for (var i = 0; i < k; i++)
        {
            var c = components[i];
            Array.Copy(gmm.Means[c], 0, centres, i * d, d);
            var trace = 0.0;
            for (var j = 0; j < d; j++) trace += gmm.Covariances[c][j][j];
            rho[i] = Math.Log(d / (2 * width * width * Math.Max(trace, 1e-12)));
            logits[i] = Math.Log(Math.Max(gmm.Weights[c], 1e-12)); // softmax renormalises the kept weights
        }
        return new ClusterPhi(centres, rho, logits);
    }

    /// <summary>The flat vector (c, rho, a).</summary>
    public double[] ToVector() => [.. Centres, .. LogPrecisions, .. Logits];

    /// <summary>phi from a flat vector (c, rho, a) with this one's shape.</summary>
    public ClusterPhi WithVector(ReadOnlySpan<double> v)
    {
        if (v.Length != Count) throw new ArgumentException($"phi has {Count} entries, got {v.Length}");
        var n = Centres.Length;
        return new ClusterPhi(v[..n].ToArray(), v.Slice(n, Components).ToArray(), v.Slice(n + Components, Components).ToArray());
    }

    /// <summary>This phi with each log precision rho_k clamped to at most <paramref name="bounds"/>[k] (the kernels no
    /// narrower than the bounds allow); itself when none is above its bound.</summary>
    public ClusterPhi WithMaxLogPrecisions(IReadOnlyList<double> bounds)
    {
        if (bounds.Count != Components) throw new ArgumentException($"{bounds.Count} bounds for {Components} components");
        if (LogPrecisions.Select((r, k) => r <= bounds[k]).All(ok => ok)) return this;
        return new ClusterPhi(Centres, [.. LogPrecisions.Select((r, k) => Math.Min(r, bounds[k]))], Logits);
    }

    /// <summary>Weights of M samples whose features are <paramref name="features"/> (M × D row-major), summing to 1
    /// with w_i ≤ <paramref name="cap"/> (2/M by default). Computed in log space, so samples far from every centre
    /// keep finite, comparable weights.</summary>
    public ClusterWeights Weigh(ReadOnlySpan<double> features, double? cap = null)
    {
        var d = Dimensions;
        var k = Components;
        if (features.Length == 0 || features.Length % d != 0) throw new ArgumentException($"features must be M × {d}");
        var m = features.Length / d;
        var logPi = MixingWeights().Select(p => Math.Log(p)).ToArray();
        var dist = new double[m * k];
        var gamma = new double[m * k];
        var rho2 = new double[m * k];
        var logU = new double[m];
        Span<double> a1 = stackalloc double[k];
        Span<double> a2 = stackalloc double[k];
        for (var i = 0; i < m; i++)
        {
            for (var c = 0; c < k; c++)
            {
                var sq = 0.0;
                for (var j = 0; j < d; j++)
                {
                    var diff = features[i * d + j] - Centres[c * d + j];
                    sq += diff * diff;
                }
                dist[i * k + c] = sq;
                var le = -Precision(c) * sq; // log e_ik
                a1[c] = logPi[c] + le; // log pi_k e_ik
                a2[c] = logPi[c] + 2 * le; // log pi_k e_ik²
            }
            var z1 = SoftmaxInto(a1, gamma.AsSpan(i * k, k));
            var z2 = SoftmaxInto(a2, rho2.AsSpan(i * k, k));
            logU[i] = z2 - z1; // u_i = sum_k pi_k e_ik² / sum_k pi_k e_ik
        }
        // w = softmax(log u), then the cap.
        var max = logU.Max();
        var w = logU.Select(v => Math.Exp(v - max)).ToArray();
        var total = w.Sum();
        for (var i = 0; i < m; i++) w[i] /= total;
        var bound = cap ?? 2.0 / m;
        var capped = WeightCap.Apply(w, bound);
        var clipped = new bool[m];
        if (capped) for (var i = 0; i < m; i++) clipped[i] = w[i] >= bound * (1 - 1e-12);
        return new ClusterWeights(w, gamma, rho2, dist, logU, clipped, k);
    }

    /// <summary>d(objective)/d(c, rho, a) for an objective whose derivatives with respect to the weights are
    /// <paramref name="dWeights"/>, at the weights <paramref name="weights"/> computed from the same features.
    /// With rho2_ik = softmax_k(log pi_k + 2 log e_ik): d log u_i/d a_k = rho2_ik − gamma_ik,
    /// d log u_i/d lambda_k = −d_ik (2 rho2_ik − gamma_ik), d log u_i/d c_k = 2 lambda_k (s_i − c_k)(2 rho2_ik − gamma_ik);
    /// through the normalisation and the cap, d w_i/d log u_j = w_i (delta_ij − w_j / R) over the unclipped samples
    /// (R their total weight) and 0 for clipped ones, whose weight is the constant bound.</summary>
    public double[] Gradient(ClusterWeights weights, ReadOnlySpan<double> features, ReadOnlySpan<double> dWeights)
    {
        var d = Dimensions;
        var k = Components;
        var m = weights.Weights.Length;
        if (dWeights.Length != m || features.Length != m * d) throw new ArgumentException("one derivative and one feature row per weighted sample");
        var w = weights.Weights;
        double free = 0, weighted = 0;
        for (var i = 0; i < m; i++)
        {
            if (weights.Clipped[i]) continue;
            free += w[i];
            weighted += dWeights[i] * w[i];
        }
        var grad = new double[Count];
        var offRho = Centres.Length;
        var offA = offRho + k;
        for (var i = 0; i < m; i++)
        {
            if (weights.Clipped[i] || free <= 0) continue;
            var dLogU = w[i] * (dWeights[i] - weighted / free); // d objective / d log u_i
            for (var c = 0; c < k; c++)
            {
                var g = weights.Responsibilities[i * k + c];
                var r2 = weights.SecondOrder[i * k + c];
                var lambda = Precision(c);
                grad[offA + c] += dLogU * (r2 - g);
                grad[offRho + c] += dLogU * -weights.SquaredDistances[i * k + c] * (2 * r2 - g) * lambda; // d lambda / d rho = lambda
                for (var j = 0; j < d; j++)
                    grad[c * d + j] += dLogU * 2 * lambda * (features[i * d + j] - Centres[c * d + j]) * (2 * r2 - g);
            }
        }
        return grad;
    }

    /// <summary>Writes softmax(x) to y and returns log-sum-exp(x).</summary>
    private static double SoftmaxInto(ReadOnlySpan<double> x, Span<double> y)
    {
        var max = double.NegativeInfinity;
        foreach (var v in x) max = Math.Max(max, v);
        var z = 0.0;
        for (var i = 0; i < x.Length; i++) z += y[i] = Math.Exp(x[i] - max);
        for (var i = 0; i < x.Length; i++) y[i] /= z;
        return max + Math.Log(z);
    }

    /// <summary>The stored form of phi (natural parameters) for a run's phi history.</summary>
    public ClusterParameters ToRecord(string runId, long step, ClusterParameterSource source) =>
        new(runId, step, Enumerable.Range(0, Components).Select(c => Centres.Skip(c * Dimensions).Take(Dimensions).ToArray()).ToArray(),
            Enumerable.Range(0, Components).Select(Precision).ToArray(), MixingWeights(), source);

    public JsonObject ToJson() => new()
    {
        ["centres"] = new JsonArray(Enumerable.Range(0, Components).Select(c => (JsonNode)new JsonArray(Centres.Skip(c * Dimensions).Take(Dimensions).Select(v => (JsonNode)v).ToArray())).ToArray()),
        ["lambda"] = new JsonArray(Enumerable.Range(0, Components).Select(c => (JsonNode)Precision(c)).ToArray()),
        ["pi"] = new JsonArray(MixingWeights().Select(p => (JsonNode)p).ToArray()),
        ["log_lambda"] = new JsonArray(LogPrecisions.Select(v => (JsonNode)v).ToArray()),
        ["logits"] = new JsonArray(Logits.Select(v => (JsonNode)v).ToArray()),
    };

    public static ClusterPhi FromJson(JsonNode node)
    {
        try
        {
            var centres = node["centres"]!.AsArray().SelectMany(row => row!.AsArray().Select(v => v!.GetValue<double>())).ToArray();
            var rho = node["log_lambda"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            var logits = node["logits"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            return new ClusterPhi(centres, rho, logits);
        }
        catch (Exception e) when (e is NullReferenceException or InvalidOperationException or FormatException or JsonException)
        {
            throw new InvalidDataException($"malformed cluster parameters: {e.Message}", e);
        }
    }
}

/// <summary>Weights of one batch under phi, with what the gradient needs.</summary>
/// <param name="Weights">w_i, summing to 1, capped.</param>
/// <param name="Responsibilities">gamma_ik, M × K.</param>
/// <param name="SecondOrder">rho2_ik = pi_k e_ik² / sum_j pi_j e_ij², M × K.</param>
/// <param name="SquaredDistances">d_ik, M × K.</param>
/// <param name="LogRawWeights">log u_i.</param>
/// <param name="Clipped">Whether the cap fixed w_i at 2/M.</param>
/// <param name="Components">K.</param>
public sealed record ClusterWeights(double[] Weights, double[] Responsibilities, double[] SecondOrder, double[] SquaredDistances, double[] LogRawWeights,
    bool[] Clipped, int Components)
{
    public bool CapActive => Clipped.Any(c => c);
}
