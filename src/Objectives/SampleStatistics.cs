using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Torch;
using static Reweighting.Torch.Torch;

namespace Reweighting.Objectives;

/// <summary>Per-sequence (loss mean, population loss variance) of a micro-batch, the statistics s_i the
/// statistics-based strategies weigh.</summary>
public readonly record struct SampleStats(double[] Means, double[] Variances)
{
    /// <summary>Statistics of pooled token losses when part j has n_j tokens of mean μ_j and variance σ²_j:
    /// mean Σ n_j μ_j / N and variance Σ n_j (σ²_j + (μ_j − mean)²) / N (the law of total variance), so a sequence inside
    /// one document carries exactly that document's statistics.</summary>
    public static (double Mean, double Variance) Combine(IReadOnlyList<(int Tokens, double Mean, double Variance)> parts)
    {
        double n = 0, sum = 0;
        foreach (var p in parts)
        {
            n += p.Tokens;
            sum += p.Tokens * p.Mean;
        }
        if (n == 0) throw new ArgumentException("no tokens to combine");
        var mean = sum / n;
        double spread = 0;
        foreach (var p in parts) spread += p.Tokens * (p.Variance + (p.Mean - mean) * (p.Mean - mean));
        return (mean, spread / n);
    }
}

/// <summary>Where a training objective gets a micro-batch's statistics from.</summary>
public interface ISampleStatisticsSource
{
    SampleStats Compute(Tensor ids, Tensor targets);

    /// <summary>The statistics of a training micro-batch. Sources that know a sequence by its position in the training
    /// stream rather than by its tokens (<see cref="DocumentSequenceStatistics"/>) answer here.</summary>
    SampleStats Compute(MicroBatch batch) => Compute(batch.Ids, batch.Targets);
}

/// <summary>Statistics from a proxy model's token losses, computed without gradients in evaluation mode (the
/// scorer's numbers, so training weighs what the labels in PostgreSQL describe). The proxy must share the training
/// model's tokenizer.</summary>
public sealed class ProxyStatistics(GptModel proxy) : ISampleStatisticsSource
{
    public GptModel Proxy { get; } = proxy;

    public SampleStats Compute(Tensor ids, Tensor targets)
    {
        using var scope = DisposeScope.Open();
        using var noGrad = NoGrad();
        var wasTraining = Proxy.IsTraining;
        Proxy.Eval();
        try
        {
            var device = Proxy.Parameters().First().Device;
            var losses = Proxy.TokenLosses(ids.To(device), targets.To(device)); // (B, T)
            return Of(losses);
        }
        finally
        {
            Proxy.Train(wasTraining);
        }
    }

    /// <summary>Mean and population variance of each row of token losses (B, T).</summary>
    public static SampleStats Of(Tensor tokenLosses)
    {
        using var scope = DisposeScope.Open();
        var detached = tokenLosses.Detach().To(ScalarType.Float64);
        return new SampleStats(detached.Mean(1).ToArray<double>(), detached.Var(1, correction: 0).ToArray<double>());
    }
}
