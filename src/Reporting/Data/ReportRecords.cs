using Reweighting.Contracts;

namespace Reweighting.Reporting;

/// <summary>One scored document as plotted: its latest label and statistics.</summary>
public sealed record ScoredPoint(string DocumentId, string? Domain, SampleLabel Label, double LossMean, double LossVariance);

/// <summary>Documents of one label in one domain (exact counts, not sampled); documents without a domain are "(none)".</summary>
public sealed record LabelCount(string Domain, SampleLabel Label, long Documents);

/// <summary>A point of the (loss mean, loss variance) plane.</summary>
public readonly record struct StatPoint(double LossMean, double LossVariance);

/// <summary>A GMM component's 2-sigma ellipse, traced in feature space and mapped back to raw (loss mean, loss variance).</summary>
/// <param name="Component">Component index k.</param>
/// <param name="Label">The label the component carries.</param>
/// <param name="Weight">Mixing weight pi_k.</param>
/// <param name="Centre">The component mean mapped back to raw coordinates.</param>
/// <param name="Outline">Closed outline, raw coordinates.</param>
public sealed record ComponentEllipse(int Component, SampleLabel Label, double Weight, StatPoint Centre, IReadOnlyList<StatPoint> Outline);

/// <summary>The newest stored GMM version and its components' ellipses.</summary>
public sealed record GmmSnapshot(GmmModel Model, IReadOnlyList<ComponentEllipse> Ellipses, int StoredVersions);

/// <summary>A training run as recorded in training_runs.</summary>
public sealed record TrainingRun(string RunId, string Model, string Strategy, string Status, DateTimeOffset StartedAt);

/// <summary>One step's value of a metric.</summary>
public readonly record struct MetricPoint(long Step, double Value);

/// <summary>A run's metric over steps, thinned to a drawable number of points.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Name">The metric (loss, valid_loss, ...).</param>
/// <param name="Points">Points drawn, ordered by step.</param>
/// <param name="RecordedPoints">Points recorded in the database.</param>
public sealed record MetricSeries(string RunId, string Name, IReadOnlyList<MetricPoint> Points, int RecordedPoints);

/// <summary>Meta-EM cluster parameters phi of a run at one step, in the GMM's feature space.</summary>
public sealed record PhiSnapshot(string RunId, long Step, ClusterParameterSource Source, double[][] Centres, double[] Lambdas, double[] Pis);

/// <summary>The meta-EM weights a run's latest phi gives the sampled documents.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Strategy">Its strategy.</param>
/// <param name="PhiStep">The step of the phi used.</param>
/// <param name="FeatureMap">How document statistics were mapped into phi's feature space, in words.</param>
/// <param name="Weights">Per sampled document: its label and raw weight u(s) = sum_k gamma_k(s) exp(-lambda_k ||s - c_k||^2), in (0, 1].</param>
public sealed record RunWeights(string RunId, string Strategy, long PhiStep, string FeatureMap, IReadOnlyList<(SampleLabel Label, double Weight)> Weights);
