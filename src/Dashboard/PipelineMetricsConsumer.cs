using Reweighting.Contracts.Control;
using Reweighting.Messaging;

namespace Reweighting.Dashboard;

/// <summary>Feeds every control event on the bus into the <see cref="PipelineMetrics"/>.</summary>
public sealed class PipelineMetricsConsumer(PipelineMetrics metrics) : ControlEventConsumer
{
    /// <inheritdoc />
    protected override Task HandleAsync(ControlEvent controlEvent, CancellationToken ct)
    {
        metrics.Observe(controlEvent);
        return Task.CompletedTask;
    }
}
