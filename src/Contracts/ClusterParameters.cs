namespace Reweighting.Contracts;

/// <summary>Where a set of meta-EM cluster parameters came from.</summary>
public enum ClusterParameterSource
{
    /// <summary>Initialised from a fitted GMM.</summary>
    GmmInit,

    /// <summary>Updated by the meta-gradient step.</summary>
    Meta,
}

/// <summary>Meta-EM cluster parameters phi = {c_k, lambda_k, pi_k} of one training run at one step.</summary>
/// <param name="RunId">The training run.</param>
/// <param name="Step">Training step the parameters hold from.</param>
/// <param name="Centres">K centres in statistic space, each (loss mean, loss variance).</param>
/// <param name="Lambdas">Per-cluster sharpness lambda_k.</param>
/// <param name="Pis">Per-cluster priors pi_k.</param>
/// <param name="Source">Where the values came from.</param>
public sealed record ClusterParameters(
    string RunId,
    long Step,
    double[][] Centres,
    double[] Lambdas,
    double[] Pis,
    ClusterParameterSource Source);
