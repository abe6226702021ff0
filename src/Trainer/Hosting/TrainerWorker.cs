using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Reweighting.Messaging;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Evaluation;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Storage;
using Reweighting.Storage.Models;
using Reweighting.Strategies;
using Reweighting.Torch;
using Reweighting.Torch.Distributed;
using Reweighting.Trainer.Recording;
using Reweighting.MetaEm;
using Reweighting.Objectives;

namespace Reweighting.Trainer.Hosting;

/// <summary>Where the trainer records runs, metrics and phi: a connection string (configuration "Trainer:Database"), else
/// REWEIGHT_DB / PG* / the embedded cluster as every command resolves it; or nowhere when disabled.</summary>
public sealed record TrainerDatabaseOptions(string? ConnectionString, bool Enabled = true);

/// <summary>The trainer service's loop: builds the model (or resumes it from the checkpoint), opens the database, and
/// runs the <see cref="StreamingTrainer"/> until the run ends or the host stops; then stops the host when the run ended
/// by itself. Control events go to the bus when one is registered; rejected batches go to the dead-letter topic when the
/// consumer factory provides a producer.</summary>
public sealed class TrainerWorker(IOptions<TrainerOptions> options, ITrainerConsumerFactory consumers, TrainerDatabaseOptions database,
    ILoggerFactory loggers, IHostApplicationLifetime lifetime, IControlEvents? events = null, IPipelineObserver? observer = null) : BackgroundService
{
    private readonly ILogger _logger = loggers.CreateLogger<TrainerWorker>();

    /// <summary>How the last run ended (null while running or after a failure).</summary>
    public StreamingRunResult? Result { get; private set; }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        // The host waits for ExecuteAsync's synchronous part, and without a database that part can be the model's build,
        // the checkpoint's load and (when no write yields) the whole run: start the loop on a thread of its own so the
        // host's start-up returns at once. That thread holds the loop only until its first await that yields (opening
        // the database, a step's metrics write, a dead letter); from then on steps run on thread-pool threads, one at a
        // time. Nothing in a step needs thread affinity: libtorch calls, their error checks and dispose scopes all stay
        // within a synchronous stretch, never across an await.
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        // Under data parallelism a bare "cuda" is this rank's GPU (cuda:LOCAL_RANK).
        o = o with { Training = o.Training with { Device = ProcessGroup.RankDevice(o.Training.Device) } };
        var device = Device.Parse(o.Training.Device);
        ScoreDatabase? db = null;
        GptModel? reference = null;
        ProcessGroup? group = null;
        try
        {
            // One rank of a data-parallel job (torchrun's variables, or `train-stream --nproc N`): rank 0 reads the stream
            // and records the run, the others follow it.
            group = ProcessGroup.JoinFromEnvironment(o.Training.Device);
            var leader = group is null || group.Rank == 0;
            if (database.Enabled)
            {
                db = await ScoreDatabase.OpenAsync(new ScoreDatabaseOptions { CommandLineConnection = database.ConnectionString }, loggers, stoppingToken);
                _logger.LogInformation("Trainer records to {Database}", db.Description);
                observer?.DatabaseOpened(db.DataSource);
            }
            observer?.DeviceInUse(device.ToString(), device.Type == DeviceType.Cuda ? () => Torch.Torch.Cuda.MemoryAllocated(device.Index) : null);
            // A resumed run keeps its checkpoint's architecture; a new one takes the configured preset.
            var config = File.Exists(Path.Combine(o.CheckpointDirectory, Checkpoint.ConfigFile))
                ? Checkpoint.LoadConfig(o.CheckpointDirectory)
                : GptConfig.Preset(o.ModelPreset, o.VocabSize);
            using var model = new GptModel(config, o.Training.Seed);
            model.To(device);
            if (o.ReferenceCheckpoint is { } referencePath) reference = Checkpoint.LoadModel(referencePath, device);
            var gmms = db is null ? null : new GmmModelStore(db.DataSource);
            StreamingTrainer? running = null;
            using var deadLetters = leader ? consumers.CreateDeadLetterProducer(o) : null;
            var recorder = db is null || !leader
                ? null
                : new TrainingRunStore(db.DataSource, logger: loggers.CreateLogger<TrainingRunStore>());
            using var trainer = new StreamingTrainer(model, o, recorder, loggers.CreateLogger<StreamingTrainer>(), group)
            {
                Reference = reference,
                GmmLookup = gmms is null ? null : (version, ct) => gmms.GetAsync(version, ct),
                Events = events is null ? null : events.Publish,
                StepCompleted = observer is null ? null : report => observer.TrainerStep(Figures(report, running!.Objective)),
                DeadLetterProducer = deadLetters,
            };
            running = trainer;
            if (leader)
            {
                using var consumer = consumers.Create(o);
                try
                {
                    Result = await trainer.RunAsync(consumer, consumers.Partitions(o.Topic), stoppingToken);
                }
                finally
                {
                    consumer.Close();
                }
            }
            else
            {
                Result = await trainer.FollowAsync(stoppingToken);
            }
            observer?.TrainerStopped(Result.Stop.ToText());
            if (Result.Stop != TrainerStopReason.Shutdown) lifetime.StopApplication();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _logger.LogCritical(e, "The trainer failed: {Message}", e.Message);
            observer?.TrainerStopped(TrainerStopReasons.Fatal(e));
            lifetime.StopApplication();
            throw;
        }
        finally
        {
            reference?.Dispose();
            group?.Dispose();
            if (db is not null) await db.DisposeAsync();
        }
    }

    // Read in the training loop, between steps: the temperature of the step just taken, and phi after its meta-update.
    private static TrainerStepFigures Figures(StepReport report, ITrainingObjective? objective)
    {
        double? temperature = objective is StrategyObjective { Strategy: LossShapeStrategy shape } ? shape.Options.TemperatureAt(Math.Max(0, report.Step - 1)) : null;
        var phi = (objective as MetaEmObjective)?.Strategy.Phi;
        return new TrainerStepFigures(report.Step, report.TotalSteps, report.Loss, report.LearningRate, report.TokensPerSecond,
            report.ValidationLoss is { } valid && valid.TryGetValue(HeldOutLoss.AllDomains, out var all) ? all : null, temperature,
            phi is null ? null : Enumerable.Range(0, phi.Components).Select(phi.Precision).ToArray(), phi?.MixingWeights());
    }
}
