using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Reweighting.Scorer.Pipeline;
using Reweighting.Storage;

namespace Reweighting.Scorer;

/// <summary>The scorer service: opens the score database, loads the proxy, builds the Kafka clients from
/// configuration and runs the <see cref="ScorerPipeline"/> until the host stops (SIGTERM drains the batch in flight).</summary>
public sealed class ScorerWorker(
    IOptions<ScorerOptions> options, IScorerKafkaClients kafka, IDocumentLabeller labeller, ILoggerFactory loggers,
    IHostApplicationLifetime lifetime, TimeProvider? time = null) : BackgroundService
{
    private readonly ILogger _logger = loggers.CreateLogger<ScorerWorker>();

    /// <summary>The running pipeline, once started (for health checks and tests).</summary>
    public ScorerPipeline? Pipeline { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value.Validate();
        try
        {
            await using var database = await ScoreDatabase.OpenAsync(new ScoreDatabaseOptions { CommandLineConnection = settings.Database }, loggers, stoppingToken);
            _logger.LogInformation("Score database: {Database}", database.Description);
            var device = settings.ResolveDevice();
            using var scorer = ProxyScorer.Load(settings.ModelDirectory, device, settings.WindowBatchSize, settings.PrependEndOfText);
            using var producer = kafka.DeadLetterProducer(ScorerKafkaConfig.DeadLetterProducer(settings));
            Pipeline = new ScorerPipeline(settings, kafka.ConsumerBuilder(ScorerKafkaConfig.Consumer(settings)), producer, scorer, labeller,
                database.DataSource, loggers, time);
            await Pipeline.RunAsync(stoppingToken);
            producer.Flush(TimeSpan.FromSeconds(5));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopped while starting up.
        }
        catch (Exception e)
        {
            _logger.LogCritical(e, "The scorer failed: {Message}", e.Message);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
            throw;
        }
    }
}
