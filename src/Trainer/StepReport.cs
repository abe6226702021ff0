namespace Reweighting.Trainer;

/// <summary>What the trainer reports after each optimiser step.</summary>
/// <param name="Step">Steps taken.</param>
/// <param name="TotalSteps">The run's length.</param>
/// <param name="Loss">Mean token loss of the step.</param>
/// <param name="LearningRate">Its learning rate.</param>
/// <param name="GradNorm">Gradient norm before clipping.</param>
/// <param name="TokensPerSecond">Training tokens per second of this step.</param>
/// <param name="ValidationLoss">Validation loss per domain and "all", on evaluation steps.</param>
/// <param name="CompletedBatches">Scored batches whose last token this step trained (or that had nothing to train).</param>
/// <param name="ObjectiveSummary">The objective's progress text (weights, phi).</param>
public sealed record StepReport(long Step, long TotalSteps, double Loss, double LearningRate, double GradNorm, double TokensPerSecond,
    IReadOnlyDictionary<string, double>? ValidationLoss, IReadOnlyList<Guid> CompletedBatches, string? ObjectiveSummary);
