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
using Reweighting.Torch.Distributed;

namespace Reweighting.Trainer;

/// <summary>Trains the main model from the <c>scored-batches</c> stream. The loop wires three parts: the
/// <see cref="BatchIntake"/> (decode, vocabulary check, deduplication by batch id, validation split, packing into
/// fixed-length sequences that keep the scorer's statistics), the <see cref="ObjectiveSetup"/> (the strategy's objective
/// and the GMM it weighs with), and the <see cref="StepRecorder"/> (metrics, phi, events). It takes one optimiser step
/// whenever a step's sequences are packed, dead-letters records it cannot train on, evaluates on the clean validation
/// set, and checkpoints atomically with the consumed offsets and the not-yet-trained remainder, so a restart trains
/// every batch exactly once. The consumer is assigned the topic's partitions at the checkpoint's offsets (no group
/// rebalancing: one trainer owns the stream). Data-parallel (a <see cref="ProcessGroup"/> of N ranks): rank 0 consumes
/// and checkpoints, the other ranks <see cref="FollowAsync">follow</see> it through a <see cref="StreamReplication"/>,
/// and each rank trains its rows of every step's global batch.</summary>
public sealed partial class StreamingTrainer : IDisposable
{
    private readonly GptModel _model;
    private readonly TrainerOptions _options;
    private readonly ILogger _logger;
    private readonly TrainingStep _trainingStep;
    private readonly ValidationSet _validation;
    private readonly bool _validationFromStream;
    private readonly ScoredSequenceStatistics _statistics = new();
    private readonly BatchIntake _intake;
    private readonly ObjectiveSetup _setup;
    private readonly StepRecorder _steps;
    private IConsumer<string?, byte[]>? _consumer;
    private ScoredBatchDeadLetterPublisher? _deadLetters;
    private IntakeOutcome.Rejected? _awaitingDeadLetter;
    private long _trainedBatches;
    private readonly StreamReplication? _replication;
    private readonly StreamWriter? _stepLog;

    /// <summary>Records read while a step was computing (the read-ahead that keeps a GPU busy).</summary>
    public long ReadDuringSteps { get; private set; }

    /// <param name="model">The model to train (on its device).</param>
    /// <param name="options">The trainer's settings.</param>
    /// <param name="recorder">Where runs, metrics and phi are recorded (rank 0 only).</param>
    /// <param name="logger">Where the run logs.</param>
    /// <param name="group">The data-parallel group (null or one rank: one process trains alone). Every rank builds its
    /// trainer with the same settings; rank 0 runs <see cref="RunAsync"/>, the others <see cref="FollowAsync"/>.</param>
    public StreamingTrainer(GptModel model, TrainerOptions options, ITrainingRecorder? recorder = null,
        ILogger<StreamingTrainer>? logger = null, ProcessGroup? group = null)
    {
        if (group is { WorldSize: > 1 })
        {
            if (options.Training.BatchSize % group.WorldSize != 0)
                throw new ArgumentException(
                    $"a micro-batch of {options.Training.BatchSize} sequences does not split evenly over {group.WorldSize} ranks");
            _replication = new StreamReplication(group, options.Topic);
        }
        this._model = model;
        this._options = options.Validate();
        if (options.Training.SequenceLength > model.Config.ContextLength)
            throw new ArgumentException($"sequence length {options.Training.SequenceLength} exceeds the model's context {model.Config.ContextLength}");
        if (options.EndOfTextToken >= model.Config.VocabSize)
            throw new ArgumentException($"end-of-text token {options.EndOfTextToken} is outside the model's vocabulary of {model.Config.VocabSize}");
        this._logger = logger ?? (ILogger)NullLogger.Instance;
        _trainingStep = new TrainingStep(model, options.Training) { Group = _replication?.Group };
        _validationFromStream = options.ValidationFile is null;
        _validation = options.ValidationFile is { } file ? ValidationSet.FromFile(file) : new ValidationSet(options.ValidationDocuments);
        // One logger for the three parts: the demo follows the trainer's "step ..." lines by its category.
        _steps = new StepRecorder(IsLeader ? recorder ?? NullTrainingRecorder.Instance : NullTrainingRecorder.Instance, this._logger,
            options.RunId ?? $"run-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}");
        _intake = new BatchIntake(options, model.Config.VocabSize, _validation, _validationFromStream, this._logger);
        _setup = new ObjectiveSetup(options, _validation, _validationFromStream, _statistics, _steps.QueuePhi, this._logger,
            _replication?.Group);
        if (IsLeader && options.StepLog is { } stepLog) _stepLog = new StreamWriter(stepLog, append: true) { AutoFlush = true };
    }

    /// <summary>Whether this trainer reads the stream, evaluates, records and checkpoints: one process, or rank 0.</summary>
    public bool IsLeader => _replication is null || _replication.IsLeader;

    /// <summary>Sequences this process trained (its rows of each step's batch under data parallelism).</summary>
    public long SequencesTrained { get; private set; }

    /// <summary>Looks up the scorer's stored GMM of a version (meta-em, cluster-heuristic); null: the trainer fits its own.</summary>
    public Func<int, CancellationToken, Task<GmmModel?>>? GmmLookup { get => _setup.GmmLookup; init => _setup.GmmLookup = value; }

    /// <summary>token-masked's reference model (the proxy), on the training device.</summary>
    public GptModel? Reference { get => _setup.Reference; init => _setup.Reference = value; }

    /// <summary>Called after every optimiser step.</summary>
    public Action<StepReport>? StepCompleted { get => _steps.StepCompleted; init => _steps.StepCompleted = value; }

    /// <summary>Receives the trainer's control events (<see cref="TrainerStarted"/>, <see cref="ClusterParametersUpdated"/>,
    /// <see cref="TrainerCheckpointed"/> after the atomic rename, <see cref="TrainerStopped"/>), e.g. to publish them on the bus.</summary>
    public Action<ControlEvent>? Events { get => _steps.Events; init => _steps.Events = IsLeader ? value : null; }

    /// <summary>Where records that cannot be trained on go (<see cref="TrainerOptions.DeadLetterTopic"/>), each with its
    /// reason, before the offset moves past them; null: they are logged and skipped.</summary>
    public IProducer<string?, byte[]>? DeadLetterProducer { get; init; }

    /// <summary>The run's id (the checkpoint's when resumed).</summary>
    public string RunId => _steps.RunId;

    /// <summary>Optimiser steps taken.</summary>
    public long Step { get; private set; }

    /// <summary>The objective in use, once the first step has set it up.</summary>
    public ITrainingObjective? Objective => _setup.Objective;

    /// <summary>The GMM meta-em or cluster-heuristic weighs with, once resolved.</summary>
    public GmmModel? Gmm => _setup.Gmm;

    /// <summary>Scored batches fully trained so far (those with nothing to train included), over the whole run.</summary>
    public long TrainedBatches => _trainedBatches;

    /// <summary>Trains until Training.Steps, until the stream is idle for StopWhenIdleFor, or until cancelled (each ends
    /// with a checkpoint). An exception (a failed step, a failing callback, a dead letter Kafka would not take) ends the
    /// run without one: a restart resumes from the last checkpoint and repeats the steps after it.</summary>
    /// <summary>With <see cref="TrainerOptions.SkipNoisy"/> and a <see cref="TrainerOptions.GmmVersion"/>, documents are left out
    /// by that stored version's verdict (its document-level detector when it has one), not by the label they travelled with.</summary>
    private async Task JudgeNoiseByStoredVersionAsync(CancellationToken ct)
    {
        if (!_options.SkipNoisy || _options.GmmVersion is not { } version || GmmLookup is null) return;
        var model = await GmmLookup(version, ct) ?? throw new InvalidOperationException($"GMM version {version} is not stored");
        var labeller = Reweighting.Gmm.GmmLabeller.FromModel(model);
        _intake.NoisyJudge = doc =>
        {
            var row = new StoredStatistics(doc.TokenCount, doc.LossMean, doc.LossVariance, doc.ScoredBytes, doc.CompressionRatio,
                doc.OrderGain);
            return (labeller.Assign(row)?.Label ?? doc.Label) == SampleLabel.Noisy;
        };
        _logger.LogInformation("Trainer run {RunId} leaves out the documents GMM version {Version} labels noisy", RunId, version);
    }

    public async Task<StreamingRunResult> RunAsync(IConsumer<string?, byte[]> consumer, IReadOnlyList<TopicPartition> partitions, CancellationToken ct = default)
    {
        if (!IsLeader)
            throw new InvalidOperationException($"rank {_replication!.Group.Rank} follows rank 0: it runs FollowAsync, not RunAsync");
        if (partitions.Count == 0) throw new ArgumentException("no partitions to consume");
        if (partitions.Any(p => p.Topic != _options.Topic)) throw new ArgumentException($"every partition must be of topic {_options.Topic}");
        var resumed = Resume();
        AgreeOnResumedStep();
        await _steps.StartAsync(DescribeModel(), _options, Step, ct);
        _logger.LogInformation(
            "Trainer run {RunId} {Action} at step {Step}: strategy {Strategy}, {Partitions} partitions of {Topic}{Ranks}", RunId,
            resumed ? "resumes" : "starts", Step, _options.Strategy, partitions.Count, _options.Topic,
            _replication is null ? "" : $", {_replication.Group.WorldSize} data-parallel ranks");
        if (DeadLetterProducer is null) _logger.LogWarning("No dead-letter producer: batches the trainer cannot train on are logged and skipped");
        await JudgeNoiseByStoredVersionAsync(ct);
        this._consumer = consumer;
        consumer.Assign(partitions.Select(p => new TopicPartitionOffset(p, _intake.Offsets.TryGetValue(p, out var next) ? new Offset(next) : Offset.Beginning)));

        var losses = new List<double>();
        var stopReason = TrainerStopReason.Completed;
        var stopSent = false;
        var idleSince = Stopwatch.StartNew();
        try
        {
            while (Step < _options.Training.Steps)
            {
                if (ct.IsCancellationRequested)
                {
                    stopReason = TrainerStopReason.Shutdown;
                    break;
                }
                if (_intake.CanTakeStep && (_setup.Objective is not null || _setup.Ready(idle: _intake.ReadAheadFull)))
                {
                    if (await SetUpAndStepAsync(idle: false, losses, ct) != StepOutcome.StopAgreed) continue;
                    (stopReason, stopSent) = (TrainerStopReason.Shutdown, true);
                    break;
                }
                if (Poll())
                {
                    await DeadLetterAsync();
                    idleSince.Restart();
                    continue;
                }
                // Idle: the warm-up makes do with what it has rather than wait for a GMM sample or validation set.
                if (_setup.Objective is null && _intake.CanTakeStep && _setup.Ready(idle: true))
                {
                    if (await SetUpAndStepAsync(idle: true, losses, ct) != StepOutcome.StopAgreed) continue;
                    (stopReason, stopSent) = (TrainerStopReason.Shutdown, true);
                    break;
                }
                if (_options.StopWhenIdleFor is { } limit && idleSince.Elapsed >= limit)
                {
                    stopReason = TrainerStopReason.Idle;
                    break;
                }
                // The other ranks wait in a collective while the stream is quiet: a heartbeat passes on what was read
                // and hears a rank that was asked to stop.
                if (_replication is { HeartbeatDue: true } && !Agree(ReplicaCommand.Continue, "", ct))
                {
                    (stopReason, stopSent) = (TrainerStopReason.Shutdown, true);
                    break;
                }
            }
            if (_replication is not null && !stopSent) _replication.Exchange(ReplicaCommand.Stop, stopReason.ToText(), stopping: true);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _logger.LogError(e, "Trainer run {RunId} failed at step {Step}", RunId, Step);
            await _steps.FailedAsync(Step, e);
            throw;
        }
        // Nothing trained and nothing set up: the next start reads the same records again, no checkpoint needed.
        if (_setup.Objective is not null) Save(consumer);
        _logger.LogInformation("Trainer run {RunId} stopped at step {Step} ({Reason}); {Batches} batches trained, {Duplicates} duplicates and {Corrupt} bad records skipped",
            RunId, Step, stopReason.ToText(), _trainedBatches, _intake.Duplicates, _intake.Rejected);
        if (_intake.SkippedNoisy > 0)
            _logger.LogInformation("Trainer run {RunId} left out {Noisy} documents the scorer labelled noisy", RunId, _intake.SkippedNoisy);
        await _steps.StoppedAsync(Step, stopReason);
        return new StreamingRunResult(RunId, Step, stopReason, losses, _intake.Duplicates, _intake.Rejected, _intake.SkippedNoisy);
    }

    private string DescribeModel()
    {
        var c = _model.Config;
        return $"gpt vocab={c.VocabSize} ctx={c.ContextLength} layers={c.Layers} heads={c.Heads} embd={c.Embedding}";
    }

    /// <summary>Reads one record into the intake, waiting at most <paramref name="timeout"/> (the poll timeout by
    /// default); false when the poll found nothing. A rejected record waits in <see cref="_awaitingDeadLetter"/>, and no
    /// record is read until <see cref="DeadLetterAsync"/> has sent it.</summary>
    private bool Poll(TimeSpan? timeout = null)
    {
        ConsumeResult<string?, byte[]>? record;
        try
        {
            record = _consumer!.Consume(timeout ?? _options.PollTimeout);
        }
        catch (ConsumeException e) when (!e.Error.IsFatal)
        {
            _logger.LogWarning("Consuming {Topic} failed: {Reason}; retrying", _options.Topic, e.Error.Reason);
            return false;
        }
        if (record is null || record.IsPartitionEOF) return false;
        _replication?.Keep(record);
        Absorb(record);
        return true;
    }

    /// <summary>Takes a record into the intake and the set-up (rank 0 as it reads it, the other ranks as rank 0 passes it
    /// on). A rejected record waits in <see cref="_awaitingDeadLetter"/> on rank 0; the other ranks move past it at once
    /// (rank 0 alone sends dead letters).</summary>
    private void Absorb(ConsumeResult<string?, byte[]> record)
    {
        switch (_intake.Absorb(record))
        {
            case IntakeOutcome.Accepted accepted:
                _setup.Observe(accepted.Batch, accepted.PackedStatistics);
                break;
            case IntakeOutcome.Rejected rejected when IsLeader:
                _awaitingDeadLetter = rejected;
                break;
            case IntakeOutcome.Rejected rejected:
                _intake.MovePast(rejected.Record);
                break;
        }
    }

    /// <summary>Sends the rejected record waiting, if any, to the dead-letter topic and moves its offset on once Kafka has
    /// it (a crash in between sends it again: the dead-letter topic is at-least-once). Without a producer, only logs it.</summary>
    private async Task DeadLetterAsync()
    {
        if (_awaitingDeadLetter is not { } rejected) return;
        var record = rejected.Record;
        if (DeadLetterProducer is null)
        {
            _logger.LogError("Skipping the record at {Topic}[{Partition}]@{Offset}: {Reason}", record.Topic, record.Partition.Value, record.Offset.Value, rejected.Message);
        }
        else
        {
            _logger.LogError("Dead-lettering the record at {Topic}[{Partition}]@{Offset} to {DeadLetterTopic} ({Code}): {Reason}", record.Topic,
                record.Partition.Value, record.Offset.Value, _options.DeadLetterTopic, rejected.Reason.ToWire(), rejected.Message);
            _deadLetters ??= new ScoredBatchDeadLetterPublisher(DeadLetterProducer, _options.DeadLetterTopic, _logger);
            // The record is read: send its dead letter whole even when shutdown was requested meanwhile.
            await _deadLetters.PublishAsync(rejected, RunId, CancellationToken.None);
        }
        _intake.MovePast(record);
        _awaitingDeadLetter = null;
    }

    private async Task<bool> TrySetUpObjectiveAsync(bool idle, CancellationToken ct)
    {
        // The same bound Ready applies: a full read-ahead must not wait for a larger GMM sample.
        var (built, initialPhi) = await _setup.TrySetUpAsync(idle || _intake.ReadAheadFull, ct);
        if (initialPhi is not null) await _steps.RecordInitialPhiAsync(initialPhi, Step);
        return built;
    }

    private async Task<double> TrainStepAsync()
    {
        var t = _options.Training;
        var (global, completed) = _intake.TakeStep();
        var micro = _replication is null ? global : global.Select(p => RankRows(p, _replication.Group)).ToList();
        SequencesTrained += micro.Sum(p => p.Count);
        var clock = Stopwatch.StartNew();
        var step = Step;
        StepResult result;
        PendingStep pending;
        try
        {
            pending = _trainingStep.Begin(step, _setup.Objective!, () => micro.Select((p, i) =>
            {
                var batch = _trainingStep.MicroBatch(p.Inputs, p.Targets, p.Count, step, i);
                _statistics.Register(batch.Ids, p.Statistics);
                return batch;
            }).ToList());
        }
        finally
        {
            _statistics.Clear();
        }
        using (pending)
        {
            // While the device works through the step, read what is already waiting until the next step is ready:
            // on a GPU the next batch is decoded and packed during this one, so the device does not wait on Kafka.
            // A rejected record stops the read-ahead: nothing is read past it before its dead letter is sent.
            while (IsLeader && !_intake.CanTakeStep && !_intake.ReadAheadFull && _awaitingDeadLetter is null && Poll(TimeSpan.Zero))
                ReadDuringSteps++;
            result = pending.Complete();
        }
        await DeadLetterAsync();
        Step = result.Step;
        _trainedBatches += completed.Count;
        var tokensPerSecond = (double)_intake.SequencesPerStep * t.SequenceLength / Math.Max(1e-9, clock.Elapsed.TotalSeconds);

        IReadOnlyDictionary<string, double>? validationLoss = null;
        if (IsLeader && _validation.Documents.Count > 0 && (Step == t.Steps || (t.EvalEvery > 0 && Step % t.EvalEvery == 0)))
            validationLoss = HeldOutLoss.Compute(_model, _validation.ByDomain(), _trainingStep.Device, t.BatchSize).ToDictionary(kv => kv.Key, kv => kv.Value.Loss);

        _stepLog?.WriteLine(new System.Text.Json.Nodes.JsonObject
        {
            ["step"] = Step, ["loss"] = result.Loss, ["lr"] = result.LearningRate, ["grad_norm"] = result.GradNorm,
            ["tokens_per_s"] = tokensPerSecond, ["collective_s"] = _trainingStep.CollectiveTime.TotalSeconds,
            ["sync_s"] = _replication?.SyncTime.TotalSeconds ?? 0,
            ["valid_loss"] = validationLoss is { } v && v.TryGetValue(HeldOutLoss.AllDomains, out var all) ? all : null,
        }.ToJsonString());
        var summary = _setup.Objective!.TakeSummary();
        await _steps.RecordStepAsync(new StepReport(Step, t.Steps, result.Loss, result.LearningRate, result.GradNorm, tokensPerSecond, validationLoss, completed, summary),
            _trainedBatches);
        if (IsLeader && t.CheckpointEvery > 0 && Step % t.CheckpointEvery == 0 && Step < t.Steps) Save(_consumer!);
        return result.Loss;
    }

    public void Dispose()
    {
        _stepLog?.Dispose();
        _trainingStep.Dispose();
    }
}
