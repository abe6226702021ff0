using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Reweighting.Contracts.Control;
using Reweighting.Messaging;
using Reweighting.Gmm;
using Reweighting.Scorer.Labelling;
using Reweighting.Scorer.Outbox;
using Reweighting.Scorer.Pipeline;
using Reweighting.Storage;

namespace Reweighting.Scorer;

/// <summary>The scorer service: opens the score database, loads the proxy, opens the GMM labeller (continuing from the
/// latest stored version of this proxy) and the outbox relay, builds the Kafka clients from configuration and runs the
/// <see cref="ScorerPipeline"/> until the host stops (SIGTERM drains the batch in flight, then the relay publishes what
/// was committed). Control events go to the bus when one is registered.</summary>
public sealed class ScorerWorker(
    IOptions<ScorerOptions> options, IScorerKafkaClients kafka, ILoggerFactory loggers, IHostApplicationLifetime lifetime,
    IControlEvents? events = null, IDocumentLabeller? labeller = null, TimeProvider? time = null, IPipelineObserver? observer = null) : BackgroundService
{
    private readonly ILogger _logger = loggers.CreateLogger<ScorerWorker>();

    // After the pipeline stops, the relay gets this long to publish the batches it committed last.
    private static readonly TimeSpan RelayDrainTimeout = TimeSpan.FromSeconds(10);

    // How often librdkafka reports the consumer's statistics (per-partition lag) to a monitor, unless configured.
    private static readonly TimeSpan StatisticsInterval = TimeSpan.FromSeconds(5);

    /// <summary>The running pipeline, once started (for health checks and tests).</summary>
    public ScorerPipeline? Pipeline { get; private set; }

    /// <summary>The GMM labeller in use, once started (null when a labeller was registered in its place).</summary>
    public ReservoirLabeller? Labeller { get; private set; }

    /// <summary>The outbox relay, once started.</summary>
    public OutboxRelay? Relay { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value.Validate();
        try
        {
            await using var database = await ScoreDatabase.OpenAsync(new ScoreDatabaseOptions { CommandLineConnection = settings.Database }, loggers, stoppingToken);
            _logger.LogInformation("Score database: {Database}", database.Description);
            observer?.DatabaseOpened(database.DataSource);
            var device = settings.ResolveDevice();
            using var scorer = ProxyScorer.Load(settings.ModelDirectory, device, settings.WindowBatches, settings.PrependEndOfText);
            observer?.DeviceInUse(device.ToString(), device.Type == Torch.DeviceType.Cuda ? () => Torch.Torch.Cuda.MemoryAllocated(device.Index) : null);
            var active = labeller;
            if (active is null)
            {
                var labellerLog = loggers.CreateLogger<ReservoirLabeller>();
                var referenceStatistics = settings.Labelling.ReferencePath is { Length: > 0 } referencePath
                    ? ReferenceScores.Score(scorer, settings.ModelDirectory, referencePath, labellerLog, stoppingToken)
                    : null;
                var reference = referenceStatistics is null
                    ? null
                    : GmmInputs.All(referenceStatistics, GmmFeatureSetting.Get(settings.Labelling.FeatureSetting).Transform);
                var noveltyReference = referenceStatistics?.Select(ReferenceNovelty.Features).OfType<double[]>().ToArray();
                if (reference is null && settings.Labelling.ToSettings().AnchorsOnReference)
                    labellerLog.LogWarning("No labelling reference (Scorer:Labelling:ReferencePath): components are named by the {Rule} " +
                        "rule, which can miss noise below or beside the clean bulk; give a clean held-out sample of the stream",
                        settings.Labelling.UnanchoredLabelRule);
                Labeller = await ReservoirLabeller.OpenAsync(database.DataSource, settings.Labelling with { ScorerModel = settings.EffectiveModelId },
                    settings.WriteRetry, labellerLog, time, stoppingToken, reference, noveltyReference);
                Labeller.VersionStored += stored => Publish(stored.ToControlEvent());
                active = Labeller;
            }
            await using var relay = new OutboxRelay(database.DataSource, kafka.ScoredBatchProducer, settings.Outbox with { InstanceName = settings.InstanceId },
                ScorerKafkaConfig.ScoredBatchConnection(settings), loggers.CreateLogger<OutboxRelay>());
            Relay = relay;
            using var producer = kafka.DeadLetterProducer(ScorerKafkaConfig.DeadLetterProducer(settings));
            Pipeline = new ScorerPipeline(settings, ConsumerBuilder(settings), producer, scorer, active,
                database.DataSource, loggers, time)
            {
                BatchLatency = observer is null ? null : observer.BatchLatency,
                Events = e =>
                {
                    if (e is BatchScored) relay.Notify();
                    Publish(e);
                },
            };
            var pipeline = Pipeline;
            observer?.ScorerRunning(() => new ScorerTotals(pipeline.Statistics.Documents, pipeline.Statistics.Tokens, pipeline.Statistics.DeadLetters,
                pipeline.Statistics.Batches, pipeline.InFlightRecords, pipeline.Statistics.Outages));

            // The labeller's fits and the relay run beside the pipeline and stop after it.
            using var background = new CancellationTokenSource();
            var relaying = relay.RunAsync(background.Token);
            var labelling = Labeller?.RunAsync(background.Token) ?? Task.CompletedTask;
            try
            {
                await Pipeline.RunAsync(stoppingToken);
                producer.Flush(TimeSpan.FromSeconds(5));
            }
            finally
            {
                await background.CancelAsync();
                await Task.WhenAll(relaying, labelling);
            }
            await DrainRelayAsync(relay);
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

    private async Task DrainRelayAsync(OutboxRelay relay)
    {
        using var limit = new CancellationTokenSource(RelayDrainTimeout);
        try
        {
            var sent = await relay.DrainAsync(limit.Token);
            if (sent > 0) _logger.LogInformation("Outbox relay published the last {Count} scored batches", sent);
        }
        catch (Exception e)
        {
            // The rows stay in the outbox: the next scorer's relay publishes them.
            _logger.LogWarning("Outbox relay could not publish everything before stopping ({Reason}); the rest waits in the outbox", e.Message);
        }
    }

    private void Publish(ControlEvent controlEvent) => events?.Publish(controlEvent);

    // A monitor gets the consumer's librdkafka statistics (per-partition lag) every few seconds.
    private ConsumerBuilder<byte[]?, byte[]?> ConsumerBuilder(ScorerOptions settings)
    {
        var config = ScorerKafkaConfig.Consumer(settings);
        if (observer is null) return kafka.ConsumerBuilder(config);
        config.StatisticsIntervalMs ??= (int)StatisticsInterval.TotalMilliseconds;
        return kafka.ConsumerBuilder(config).SetStatisticsHandler((_, json) => observer.ConsumerStatistics(json));
    }
}
