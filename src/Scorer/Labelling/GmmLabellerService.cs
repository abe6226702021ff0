using Microsoft.Extensions.Hosting;

namespace Reweighting.Scorer.Labelling;

/// <summary>Runs a <see cref="ReservoirLabeller"/>'s fits, stores and relabels in the background while the host runs.</summary>
public sealed class GmmLabellerService(ReservoirLabeller labeller) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => labeller.RunAsync(stoppingToken);
}
