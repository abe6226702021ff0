using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reweighting.Contracts;
using Reweighting.Contracts.Batches;
using Reweighting.Contracts.Control;
using Reweighting.Modeling.Evaluation;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Trainer.Recording;
using Reweighting.Trainer.Streaming;
using Reweighting.Objectives;

namespace Reweighting.Trainer;

/// <summary>Trains the main model from the <c>scored-batches</c> stream. The loop wires three parts: the
/// <see cref="BatchIntake"/> (decode, vocabulary check, deduplication by batch id, validation split, packing into
/// fixed-length sequences that keep the scorer's statistics), the <see cref="ObjectiveSetup"/> (the strategy's objective
/// and the GMM it weighs with), and the <see cref="StepRecorder"/> (metrics, phi, events). It takes one optimiser step
/// whenever a step's sequences are packed, dead-letters records it cannot train on, evaluates on the clean validation
/// set, and checkpoints atomically with the consumed offsets and the not-yet-trained remainder, so a restart trains
/// every batch exactly once. The consumer is assigned the topic's partitions at the checkpoint's offsets (no group
/// rebalancing: one trainer owns the stream).</summary>
public sealed partial class StreamingTrainer : IDisposable
{
    private readonly GptModel model;
    private readonly TrainerOptions options;
    private readonly ILogger logger;
    private readonly TrainingStep trainingStep;
    private readonly ValidationSet validation;
    private readonly bool validationFromStream;
    private readonly ScoredSequenceStatistics statistics = new();
    private readonly BatchIntake intake;
    private readonly ObjectiveSetup setup;
    private readonly StepRecorder steps;
    private IConsumer<string?, byte[]>? consumer;
    private ScoredBatchDeadLetterPublisher? deadLetters;
    private IntakeOutcome.Rejected? awaitingDeadLetter;
    private long trainedBatches;

    /// <summary>Records read while a step was computing (the read-ahead that keeps a GPU busy).</summary>
    public long ReadDuringSteps { get; private set; }

    public StreamingTrainer(GptModel model, TrainerOptions options, ITrainingRecorder? recorder = null, ILogger<StreamingTrainer>? logger = null)
    {
        this.model = model;
        this.options = options.Validate();
        if (options.Training.SequenceLength > model.Config.ContextLength)
            throw new ArgumentException($"sequence length {options.Training.SequenceLength} exceeds the model's context {model.Config.ContextLength}");
        if (options.EndOfTextToken >= model.Config.VocabSize)
            throw new ArgumentException($"end-of-text token {options.EndOfTextToken} is outside the model's vocabulary of {model.Config.VocabSize}");
        this.logger = logger ?? (ILogger)NullLogger.Instance;
        trainingStep = new TrainingStep(model, options.Training);
        validationFromStream = options.ValidationFile is null;
        validation = options.ValidationFile is { } file ? ValidationSet.FromFile(file) : new ValidationSet(options.ValidationDocuments);
        // One logger for the three parts: the demo follows the trainer's "step ..." lines by its category.
        steps = new StepRecorder(recorder ?? NullTrainingRecorder.Instance, this.logger,
            options.RunId ?? $"run-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}");
        intake = new BatchIntake(options, model.Config.VocabSize, validation, validationFromStream, this.logger);
        setup = new ObjectiveSetup(options, validation, validationFromStream, statistics, steps.QueuePhi, this.logger);
    }

    /// <summary>Looks up the scorer's stored GMM of a version (meta-em, cluster-heuristic); null: the trainer fits its own.</summary>
    public Func<int, CancellationToken, Task<GmmModel?>>? GmmLookup { get => setup.GmmLookup; init => setup.GmmLookup = value; }

    /// <summary>token-masked's reference model (the proxy), on the training device.</summary>
    public GptModel? Reference { get => setup.Reference; init => setup.Reference = value; }

    /// <summary>Called after every optimiser step.</summary>
    public Action<StepReport>? StepCompleted { get => steps.StepCompleted; init => steps.StepCompleted = value; }

    /// <summary>Receives the trainer's control events (<see cref="TrainerStarted"/>, <see cref="ClusterParametersUpdated"/>,
    /// <see cref="TrainerCheckpointed"/> after the atomic rename, <see cref="TrainerStopped"/>), e.g. to publish them on the bus.</summary>
    public Action<ControlEvent>? Events { get => steps.Events; init => steps.Events = value; }

    /// <summary>Where records that cannot be trained on go (<see cref="TrainerOptions.DeadLetterTopic"/>), each with its
    /// reason, before the offset moves past them; null: they are logged and skipped.</summary>
    public IProducer<string?, byte[]>? DeadLetterProducer { get; init; }

    /// <summary>The run's id (the checkpoint's when resumed).</summary>
    public string RunId => steps.RunId;

    /// <summary>Optimiser steps taken.</summary>
    public long Step { get; private set; }

    /// <summary>The objective in use, once the first step has set it up.</summary>
    public ITrainingObjective? Objective => setup.Objective;

    /// <summary>The GMM meta-em or cluster-heuristic weighs with, once resolved.</summary>
    public GmmModel? Gmm => setup.Gmm;

    /// <summary>Scored batches fully trained so far (those with nothing to train included), over the whole run.</summary>
    public long TrainedBatches => trainedBatches;

    /// <summary>Trains until Training.Steps, until the stream is idle for StopWhenIdleFor, or until cancelled (each ends
    /// with a checkpoint). An exception (a failed step, a failing callback, a dead letter Kafka would not take) ends the
    /// run without one: a restart resumes from the last checkpoint and repeats the steps after it.</summary>
    public async Task<StreamingRunResult> RunAsync(IConsumer<string?, byte[]> consumer, IReadOnlyList<TopicPartition> partitions, CancellationToken ct = default)
    {
        if (partitions.Count == 0) throw new ArgumentException("no partitions to consume");
        if (partitions.Any(p => p.Topic != options.Topic)) throw new ArgumentException($"every partition must be of topic {options.Topic}");
        var resumed = Resume();
        await steps.StartAsync(DescribeModel(), options, Step, ct);
        logger.LogInformation("Trainer run {RunId} {Action} at step {Step}: strategy {Strategy}, {Partitions} partitions of {Topic}",
            RunId, resumed ? "resumes" : "starts", Step, options.Strategy, partitions.Count, options.Topic);
        if (DeadLetterProducer is null) logger.LogWarning("No dead-letter producer: batches the trainer cannot train on are logged and skipped");
        this.consumer = consumer;
        consumer.Assign(partitions.Select(p => new TopicPartitionOffset(p, intake.Offsets.TryGetValue(p, out var next) ? new Offset(next) : Offset.Beginning)));

        var losses = new List<double>();
        var stopReason = TrainerStopReason.Completed;
        var idleSince = Stopwatch.StartNew();
        try
        {
            while (Step < options.Training.Steps)
            {
                if (ct.IsCancellationRequested)
                {
                    stopReason = TrainerStopReason.Shutdown;
                    break;
                }
                if (intake.CanTakeStep && (setup.Objective is not null || setup.Ready(idle: intake.ReadAheadFull)))
                {
                    if (setup.Objective is null && !await TrySetUpObjectiveAsync(idle: false, ct)) continue;
                    losses.Add(await TrainStepAsync());
                    continue;
                }
                if (Poll())
                {
                    await DeadLetterAsync();
                    idleSince.Restart();
                    continue;
                }
                // Idle: the warm-up makes do with what it has rather than wait for a GMM sample or validation set.
                if (setup.Objective is null && intake.CanTakeStep && setup.Ready(idle: true))
                {
                    if (!await TrySetUpObjectiveAsync(idle: true, ct)) continue;
                    losses.Add(await TrainStepAsync());
                    continue;
                }
                if (options.StopWhenIdleFor is { } limit && idleSince.Elapsed >= limit)
                {
                    stopReason = TrainerStopReason.Idle;
                    break;
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Trainer run {RunId} failed at step {Step}", RunId, Step);
            await steps.FailedAsync(Step, e);
            throw;
        }
        // Nothing trained and nothing set up: the next start reads the same records again, no checkpoint needed.
        if (setup.Objective is not null) Save(consumer);
        logger.LogInformation("Trainer run {RunId} stopped at step {Step} ({Reason}); {Batches} batches trained, {Duplicates} duplicates and {Corrupt} bad records skipped",
            RunId, Step, stopReason.ToText(), trainedBatches, intake.Duplicates, intake.Rejected);
        await steps.StoppedAsync(Step, stopReason);
        return new StreamingRunResult(RunId, Step, stopReason, losses, intake.Duplicates, intake.Rejected);
    }

    private string DescribeModel()
    {
        var c = model.Config;
        return $"gpt vocab={c.VocabSize} ctx={c.ContextLength} layers={c.Layers} heads={c.Heads} embd={c.Embedding}";
    }

    /// <summary>Reads one record into the intake, waiting at most <paramref name="timeout"/> (the poll timeout by
    /// default); false when the poll found nothing. A rejected record waits in <see cref="awaitingDeadLetter"/>, and no
    /// record is read until <see cref="DeadLetterAsync"/> has sent it.</summary>
    private bool Poll(TimeSpan? timeout = null)
    {
        ConsumeResult<string?, byte[]>? record;
        try
        {
            record = consumer!.Consume(timeout ?? options.PollTimeout);
        }
        catch (ConsumeException e) when (!e.Error.IsFatal)
        {
            logger.LogWarning("Consuming {Topic} failed: {Reason}; retrying", options.Topic, e.Error.Reason);
            return false;
        }
        if (record is null || record.IsPartitionEOF) return false;
        switch (intake.Absorb(record))
        {
            case IntakeOutcome.Accepted accepted:
                setup.Observe(accepted.Batch, accepted.PackedStatistics);
                break;
            case IntakeOutcome.Rejected rejected:
                awaitingDeadLetter = rejected;
                break;
        }
        return true;
    }

    /// <summary>Sends the rejected record waiting, if any, to the dead-letter topic and moves its offset on once Kafka has
    /// it (a crash in between sends it again: the dead-letter topic is at-least-once). Without a producer, only logs it.</summary>
    private async Task DeadLetterAsync()
    {
        if (awaitingDeadLetter is not { } rejected) return;
        var record = rejected.Record;
        if (DeadLetterProducer is null)
        {
            logger.LogError("Skipping the record at {Topic}[{Partition}]@{Offset}: {Reason}", record.Topic, record.Partition.Value, record.Offset.Value, rejected.Message);
        }
        else
        {
            logger.LogError("Dead-lettering the record at {Topic}[{Partition}]@{Offset} to {DeadLetterTopic} ({Code}): {Reason}", record.Topic,
                record.Partition.Value, record.Offset.Value, options.DeadLetterTopic, rejected.Reason.ToWire(), rejected.Message);
            deadLetters ??= new ScoredBatchDeadLetterPublisher(DeadLetterProducer, options.DeadLetterTopic, logger);
            // The record is read: send its dead letter whole even when shutdown was requested meanwhile.
            await deadLetters.PublishAsync(rejected, RunId, CancellationToken.None);
        }
        intake.MovePast(record);
        awaitingDeadLetter = null;
    }

    private async Task<bool> TrySetUpObjectiveAsync(bool idle, CancellationToken ct)
    {
        // The same bound Ready applies: a full read-ahead must not wait for a larger GMM sample.
        var (built, initialPhi) = await setup.TrySetUpAsync(idle || intake.ReadAheadFull, ct);
        if (initialPhi is not null) await steps.RecordInitialPhiAsync(initialPhi, Step);
        return built;
    }

    private async Task<double> TrainStepAsync()
    {
        var t = options.Training;
        var (micro, completed) = intake.TakeStep();
        var clock = Stopwatch.StartNew();
        var step = Step;
        StepResult result;
        PendingStep pending;
        try
        {
            pending = trainingStep.Begin(step, setup.Objective!, () => micro.Select((p, i) =>
            {
                var batch = trainingStep.MicroBatch(p.Inputs, p.Targets, p.Count, step, i);
                statistics.Register(batch.Ids, p.Statistics);
                return batch;
            }).ToList());
        }
        finally
        {
            statistics.Clear();
        }
        using (pending)
        {
            // While the device works through the step, read what is already waiting until the next step is ready:
            // on a GPU the next batch is decoded and packed during this one, so the device does not wait on Kafka.
            // A rejected record stops the read-ahead: nothing is read past it before its dead letter is sent.
            while (!intake.CanTakeStep && !intake.ReadAheadFull && awaitingDeadLetter is null && Poll(TimeSpan.Zero))
                ReadDuringSteps++;
            result = pending.Complete();
        }
        await DeadLetterAsync();
        Step = result.Step;
        trainedBatches += completed.Count;
        var tokensPerSecond = (double)intake.SequencesPerStep * t.SequenceLength / Math.Max(1e-9, clock.Elapsed.TotalSeconds);

        IReadOnlyDictionary<string, double>? validationLoss = null;
        if (validation.Documents.Count > 0 && (Step == t.Steps || (t.EvalEvery > 0 && Step % t.EvalEvery == 0)))
            validationLoss = HeldOutLoss.Compute(model, validation.ByDomain(), trainingStep.Device, t.BatchSize).ToDictionary(kv => kv.Key, kv => kv.Value.Loss);

        var summary = setup.Objective!.TakeSummary();
        await steps.RecordStepAsync(new StepReport(Step, t.Steps, result.Loss, result.LearningRate, result.GradNorm, tokensPerSecond, validationLoss, completed, summary),
            trainedBatches);
        if (t.CheckpointEvery > 0 && Step % t.CheckpointEvery == 0 && Step < t.Steps) Save(consumer!);
        return result.Loss;
    }

    public void Dispose() => trainingStep.Dispose();
}
