using Microsoft.Extensions.Logging;
using Reweighting.Contracts;
using Reweighting.Contracts.Control;
using Reweighting.MetaEm;
using Reweighting.Modeling.Evaluation;

namespace Reweighting.Trainer.Recording;

/// <summary>Records a streaming run as it goes: the run's start and end through the <see cref="ITrainingRecorder"/>,
/// each step's metrics and the phi its meta-update produced, the step's log line and report, and the control events.
/// Writes after a step use no cancellation: the step is taken, so it is recorded whole even when shutdown was
/// requested meanwhile.</summary>
public sealed class StepRecorder(ITrainingRecorder recorder, ILogger logger, string runId)
{
    private readonly List<ClusterParameters> _pendingPhi = [];
    private readonly List<PhiUpdate> _pendingUpdates = [];

    /// <summary>The run recorded (a resume replaces it with the checkpoint's).</summary>
    public string RunId { get; set; } = runId;

    /// <summary>Called after every recorded step.</summary>
    public Action<StepReport>? StepCompleted { get; set; }

    /// <summary>Receives the run's control events.</summary>
    public Action<ControlEvent>? Events { get; set; }

    /// <summary>Hands a control event to <see cref="Events"/>.</summary>
    public void Publish(ControlEvent e) => Events?.Invoke(e);

    /// <summary>Records the run as running and announces it.</summary>
    public async Task StartAsync(string model, TrainerOptions options, long step, CancellationToken ct)
    {
        await recorder.StartRunAsync(RunId, model, options.Strategy, System.Text.Json.JsonSerializer.Serialize(options), ct);
        Publish(new TrainerStarted(RunId, step, options.Strategy));
    }

    /// <summary>Keeps a meta-update's phi, and its predicted validation improvement U_t and gradient norm, to record with
    /// the step that made it.</summary>
    public void QueuePhi(PhiUpdate update)
    {
        _pendingPhi.Add(update.Phi.ToRecord(RunId, update.Step, ClusterParameterSource.Meta));
        _pendingUpdates.Add(update);
    }

    /// <summary>Records the phi meta-em starts from, initialised from its GMM at <paramref name="step"/>.</summary>
    public async Task RecordInitialPhiAsync(ClusterPhi phi, long step)
    {
        await recorder.RecordClusterParametersAsync(phi.ToRecord(RunId, step, ClusterParameterSource.GmmInit), CancellationToken.None);
        Publish(new ClusterParametersUpdated(RunId, step, ClusterParameterSource.GmmInit));
    }

    /// <summary>Records a step taken: its metrics (with the batches trained so far), the phi its meta-update produced,
    /// its log line; then reports it.</summary>
    public async Task RecordStepAsync(StepReport report, long trainedBatches)
    {
        var step = report.Step;
        var metrics = new List<MetricValue>
        {
            new(step, "loss", report.Loss), new(step, "lr", report.LearningRate), new(step, "grad_norm", report.GradNorm),
            new(step, "tokens_per_s", report.TokensPerSecond), new(step, "batches_trained", trainedBatches),
        };
        // meta-em's U_t: the first-order validation improvement of the weighted step, sum_i w_i dU/dw_i (summed over the
        // step's meta-updates, one per step by default), and the meta-gradient's norm.
        if (_pendingUpdates.Count > 0)
        {
            metrics.Add(new(step, "meta_predicted_improvement", _pendingUpdates.Sum(u => u.PredictedImprovement)));
            metrics.Add(new(step, "meta_gradient_norm", _pendingUpdates.Max(u => u.GradientNorm)));
            _pendingUpdates.Clear();
        }
        if (report.ValidationLoss is { } validationLoss)
            foreach (var (domain, loss) in validationLoss)
                metrics.Add(new(step, domain == HeldOutLoss.AllDomains ? "valid_loss" : $"valid_loss/{domain}", loss));
        await recorder.RecordMetricsAsync(RunId, metrics, CancellationToken.None);
        foreach (var phi in _pendingPhi)
        {
            await recorder.RecordClusterParametersAsync(phi, CancellationToken.None);
            Publish(new ClusterParametersUpdated(RunId, phi.Step, phi.Source));
        }
        _pendingPhi.Clear();

        logger.LogInformation("step {Step}/{Steps} loss {Loss:F4} lr {Lr:G3} grad {Grad:F3} {Rate:F0} tok/s{Valid} {Summary}", step, report.TotalSteps, report.Loss,
            report.LearningRate, report.GradNorm, report.TokensPerSecond,
            report.ValidationLoss is null ? "" : $" valid {report.ValidationLoss[HeldOutLoss.AllDomains]:F4}", report.ObjectiveSummary);
        StepCompleted?.Invoke(report);
    }

    /// <summary>Marks a run that reached its length finished, and announces the stop.</summary>
    public async Task StoppedAsync(long step, TrainerStopReason reason)
    {
        if (reason == TrainerStopReason.Completed) await recorder.FinishRunAsync(RunId, failed: false, CancellationToken.None);
        Publish(new TrainerStopped(RunId, step, reason.ToText()));
    }

    /// <summary>Marks the run failed (best effort: the failure being reported matters more) and announces the stop.</summary>
    public async Task FailedAsync(long step, Exception error)
    {
        try
        {
            await recorder.FinishRunAsync(RunId, failed: true, CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Could not mark run {RunId} as failed", RunId);
        }
        Publish(new TrainerStopped(RunId, step, TrainerStopReasons.Fatal(error)));
    }
}
