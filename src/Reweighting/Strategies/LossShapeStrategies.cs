namespace Reweighting.Strategies;

/// <summary>Settings of Sow et al.'s loss-based strategies: uniform weights for <see cref="BurnInSteps"/>, then a
/// softmax temperature annealed linearly from <see cref="InitialTemperature"/> (near uniform) to
/// <see cref="FinalTemperature"/> over <see cref="AnnealSteps"/>.</summary>
public sealed record LossShapeOptions(double FinalTemperature = 0.4, double InitialTemperature = 100, long BurnInSteps = 0, long AnnealSteps = 1000)
{
    /// <summary>The temperature r at a step (infinity during burn-in).</summary>
    public double TemperatureAt(long step)
    {
        if (step < BurnInSteps) return double.PositiveInfinity;
        if (AnnealSteps <= 0) return FinalTemperature;
        var progress = Math.Min(1.0, (double)(step - BurnInSteps) / AnnealSteps);
        return InitialTemperature + (FinalTemperature - InitialTemperature) * progress;
    }
}

/// <summary>Sow et al., "Dynamic Loss-Based Sample Reweighting for Improved LLM Pretraining": each sample's loss is
/// normalised over the batch to h = (2l − (l_max + l_min)) / (l_max − l_min) ∈ [−1, 1], scored by f(h), and weighted
/// w = softmax(f / r). Weights are bounded by 2/M: a weight above it is clipped and the excess spread over the others.</summary>
public abstract class LossShapeStrategy(LossShapeOptions options) : IWeightingStrategy
{
    public abstract string Name { get; }

    public LossShapeOptions Options { get; } = options;

    /// <summary>The score f(h) of a normalised loss h ∈ [−1, 1].</summary>
    public abstract double Score(double h);

    public BatchWeights Weigh(BatchScores batch, StrategyState state)
    {
        batch.Validate();
        var m = batch.Size;
        var r = Options.TemperatureAt(state.Step);
        if (double.IsPositiveInfinity(r)) return new BatchWeights(Enumerable.Repeat(1.0 / m, m).ToArray(), r, false);
        double lmax = batch.Losses.Max(), lmin = batch.Losses.Min();
        var f = batch.Losses.Select(l => Score(lmax > lmin ? (2 * l - (lmax + lmin)) / (lmax - lmin) : 0)).ToArray();
        var fmax = f.Max();
        var w = f.Select(v => Math.Exp((v - fmax) / r)).ToArray(); // shifted by max f: no overflow at small r
        var z = w.Sum();
        for (var i = 0; i < m; i++) w[i] /= z;
        var capped = WeightCap.Apply(w, 2.0 / m);
        return new BatchWeights(w, r, capped);
    }
}

/// <summary>LinUpper: f(h) = min(h + 1, 1), down-weighting the easiest samples and treating the rest alike.</summary>
public sealed class LinUpperStrategy(LossShapeOptions? options = null) : LossShapeStrategy(options ?? new())
{
    public override string Name => "linupper";

    public override double Score(double h) => Math.Min(h + 1, 1);
}

/// <summary>Quadratic: f(h) = 1 − h², favouring middling losses over both extremes.</summary>
public sealed class QuadraticStrategy(LossShapeOptions? options = null) : LossShapeStrategy(options ?? new())
{
    public override string Name => "quadratic";

    public override double Score(double h) => 1 - h * h;
}

/// <summary>Extremes: f(h) = |h|, favouring the easiest and the hardest samples.</summary>
public sealed class ExtremesStrategy(LossShapeOptions? options = null) : LossShapeStrategy(options ?? new())
{
    public override string Name => "extremes";

    public override double Score(double h) => Math.Abs(h);
}

/// <summary>Enforces w_i ≤ cap on weights summing to 1 by clipping and redistributing the excess proportionally over
/// the unclipped weights (repeated until none exceeds the cap). Returns whether anything was clipped.</summary>
public static class WeightCap
{
    public static bool Apply(double[] w, double cap)
    {
        if (cap * w.Length < 1) throw new ArgumentException($"a cap of {cap} cannot hold {w.Length} weights summing to 1");
        var clipped = new bool[w.Length];
        var any = false;
        while (true)
        {
            var excess = 0.0;
            for (var i = 0; i < w.Length; i++)
            {
                if (clipped[i] || w[i] <= cap) continue;
                excess += w[i] - cap;
                w[i] = cap;
                clipped[i] = true;
                any = true;
            }
            if (excess <= 0) return any;
            var free = 0.0;
            for (var i = 0; i < w.Length; i++) if (!clipped[i]) free += w[i];
            if (free <= 0) return any;
            for (var i = 0; i < w.Length; i++) if (!clipped[i]) w[i] += excess * w[i] / free;
        }
    }
}
