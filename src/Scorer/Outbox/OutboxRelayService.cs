using Microsoft.Extensions.Hosting;

namespace Reweighting.Scorer.Outbox;

/// <summary>Runs an <see cref="OutboxRelay"/> as a hosted service, for as long as the host runs.</summary>
public sealed class OutboxRelayService(OutboxRelay relay) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => relay.RunAsync(stoppingToken);
}
