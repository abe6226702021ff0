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
using Reweighting.MetaEm;
using Reweighting.Objectives;

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

/// <summary>How a run ended.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Step">Steps taken in all (including before a resume).</param>
/// <param name="StopReason">"completed", "idle" or "shutdown".</param>
/// <param name="Losses">The loss of every step this call ran.</param>
/// <param name="DuplicatesSkipped">Resent batches skipped by this call.</param>
/// <param name="CorruptSkipped">Undecodable or mismatched batches skipped by this call.</param>
public sealed record StreamingRunResult(string RunId, long Step, string StopReason, IReadOnlyList<double> Losses, long DuplicatesSkipped, long CorruptSkipped);

/// <summary>Trains the main model from the <c>scored-batches</c> stream: decodes batches, skips resent ones by batch id,
/// packs their documents' token windows into fixed-length sequences that keep the scorer's statistics, takes one
/// optimiser step with the configured strategy's objective whenever a step's sequences are packed (meta-em's
/// meta-update of phi included), records metrics and phi, evaluates on the clean validation set, and checkpoints
/// atomically with the consumed offsets and the not-yet-trained remainder, so a restart trains every batch exactly
/// once. The consumer is assigned the topic's partitions at the checkpoint's offsets (no group rebalancing: one trainer
/// owns the stream).</summary>
public sealed partial class StreamingTrainer : IDisposable
{
    private readonly GptModel model;
    private readonly TrainerOptions options;
    private readonly ITrainingRecorder recorder;
    private readonly ILogger logger;
    private readonly TrainingStep trainingStep;
    private readonly SequencePacker packer;
    private readonly BatchDeduplicator deduplicator;
    private readonly ValidationSet validation;
    private readonly bool validationFromStream;
    private readonly ScoredSequenceStatistics statistics = new();
    private readonly Dictionary<TopicPartition, long> offsets = new();
    private readonly List<(double Mean, double Variance)> gmmReservoir = [];
    private readonly List<ClusterParameters> pendingPhi = [];
    private readonly List<Guid> completedOutsideSteps = [];
    private ITrainingObjective? objective;
    private IConsumer<string?, byte[]>? consumerForCheckpoints;
    private GmmModel? gmm;
    private int? newestGmmVersion;
    private string? scorerModel;
    private bool gmmLookedUp;
    private long trainedBatches;
    private long duplicates;
    private long corrupt;

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
        this.recorder = recorder ?? NullTrainingRecorder.Instance;
        this.logger = logger ?? (ILogger)NullLogger.Instance;
        trainingStep = new TrainingStep(model, options.Training);
        packer = new SequencePacker(options.Training.SequenceLength, options.EndOfTextToken);
        deduplicator = new BatchDeduplicator(options.DeduplicationWindow);
        validationFromStream = options.ValidationFile is null;
        validation = options.ValidationFile is { } file ? ValidationSet.FromFile(file) : new ValidationSet(options.ValidationDocuments);
        RunId = options.RunId ?? $"run-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}";
    }

    /// <summary>Looks up the scorer's stored GMM of a version (meta-em, cluster-heuristic); null: the trainer fits its own.</summary>
    public Func<int, CancellationToken, Task<GmmModel?>>? GmmLookup { get; init; }

    /// <summary>token-masked's reference model (the proxy), on the training device.</summary>
    public GptModel? Reference { get; init; }

    /// <summary>Called after every optimiser step.</summary>
    public Action<StepReport>? StepCompleted { get; init; }

    /// <summary>Receives the trainer's control events (<see cref="TrainerStarted"/>, <see cref="ClusterParametersUpdated"/>,
    /// <see cref="TrainerCheckpointed"/> after the atomic rename, <see cref="TrainerStopped"/>), e.g. to publish them on the bus.</summary>
    public Action<ControlEvent>? Events { get; init; }

    /// <summary>The run's id (the checkpoint's when resumed).</summary>
    public string RunId { get; private set; }

    /// <summary>Optimiser steps taken.</summary>
    public long Step { get; private set; }

    /// <summary>The objective in use, once the first step has set it up.</summary>
    public ITrainingObjective? Objective => objective;

    /// <summary>The GMM meta-em or cluster-heuristic weighs with, once resolved.</summary>
    public GmmModel? Gmm => gmm;

    /// <summary>Scored batches fully trained so far (those with nothing to train included), over the whole run.</summary>
    public long TrainedBatches => trainedBatches;

    // The fewest statistics an idle stream may fit the GMM on (a few per component of the default three).
    private const int MinimumGmmSample = 12;

    // Steps' worth of packed tokens the warm-up may read ahead before it stops waiting for a GMM sample or validation set.
    private const int ReadAheadSteps = 64;

    // Distinct meta-update validation batches the stream's validation set must hold before meta-em starts on it.
    private const int MetaValidationBatches = 8;

    private int SequencesPerStep => options.Training.BatchSize * options.Training.GradientAccumulation;

    /// <summary>Trains until Training.Steps, until the stream is idle for StopWhenIdleFor, or until cancelled (each ends
    /// with a checkpoint). An exception (a failed step, a failing callback) ends the run without one: a restart resumes
    /// from the last checkpoint and repeats the steps after it.</summary>
    public async Task<StreamingRunResult> RunAsync(IConsumer<string?, byte[]> consumer, IReadOnlyList<TopicPartition> partitions, CancellationToken ct = default)
    {
        if (partitions.Count == 0) throw new ArgumentException("no partitions to consume");
        if (partitions.Any(p => p.Topic != options.Topic)) throw new ArgumentException($"every partition must be of topic {options.Topic}");
        var resumed = Resume();
        await recorder.StartRunAsync(RunId, DescribeModel(), options.Strategy, System.Text.Json.JsonSerializer.Serialize(options), ct);
        logger.LogInformation("Trainer run {RunId} {Action} at step {Step}: strategy {Strategy}, {Partitions} partitions of {Topic}",
            RunId, resumed ? "resumes" : "starts", Step, options.Strategy, partitions.Count, options.Topic);
        Events?.Invoke(new TrainerStarted(RunId, Step, options.Strategy));
        consumerForCheckpoints = consumer;
        consumer.Assign(partitions.Select(p => new TopicPartitionOffset(p, offsets.TryGetValue(p, out var next) ? new Offset(next) : Offset.Beginning)));

        var losses = new List<double>();
        var stopReason = "completed";
        var idleSince = Stopwatch.StartNew();
        try
        {
            while (Step < options.Training.Steps)
            {
                if (ct.IsCancellationRequested)
                {
                    stopReason = "shutdown";
                    break;
                }
                if (packer.CanTake(SequencesPerStep) && (objective is not null || SetupReady(idle: false)))
                {
                    if (objective is null && !await TrySetUpObjectiveAsync(idle: false, ct)) continue;
                    losses.Add(await TrainStepAsync());
                    continue;
                }
                if (Poll(consumer))
                {
                    idleSince.Restart();
                    continue;
                }
                // Idle: the warm-up makes do with what it has rather than wait for a GMM sample or validation set.
                if (objective is null && packer.CanTake(SequencesPerStep) && SetupReady(idle: true))
                {
                    if (!await TrySetUpObjectiveAsync(idle: true, ct)) continue;
                    losses.Add(await TrainStepAsync());
                    continue;
                }
                if (options.StopWhenIdleFor is { } limit && idleSince.Elapsed >= limit)
                {
                    stopReason = "idle";
                    break;
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Trainer run {RunId} failed at step {Step}", RunId, Step);
            await TryFinishAsync(failed: true);
            Events?.Invoke(new TrainerStopped(RunId, Step, $"fatal: {e.Message}"));
            throw;
        }
        // Nothing trained and nothing set up: the next start reads the same records again, no checkpoint needed.
        if (objective is not null) Save(consumer);
        if (stopReason == "completed") await recorder.FinishRunAsync(RunId, failed: false, CancellationToken.None);
        logger.LogInformation("Trainer run {RunId} stopped at step {Step} ({Reason}); {Batches} batches trained, {Duplicates} duplicates and {Corrupt} bad records skipped",
            RunId, Step, stopReason, trainedBatches, duplicates, corrupt);
        Events?.Invoke(new TrainerStopped(RunId, Step, stopReason));
        return new StreamingRunResult(RunId, Step, stopReason, losses, duplicates, corrupt);
    }

    private async Task TryFinishAsync(bool failed)
    {
        try
        {
            await recorder.FinishRunAsync(RunId, failed, CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Could not mark run {RunId} as failed", RunId);
        }
    }

    private string DescribeModel()
    {
        var c = model.Config;
        return $"gpt vocab={c.VocabSize} ctx={c.ContextLength} layers={c.Layers} heads={c.Heads} embd={c.Embedding}";
    }

    /// <summary>Reads one record into the packer, waiting at most <paramref name="timeout"/> (the poll timeout by
    /// default); false when the poll found nothing.</summary>
    private bool Poll(IConsumer<string?, byte[]> consumer, TimeSpan? timeout = null)
    {
        ConsumeResult<string?, byte[]>? record;
        try
        {
            record = consumer.Consume(timeout ?? options.PollTimeout);
        }
        catch (ConsumeException e) when (!e.Error.IsFatal)
        {
            logger.LogWarning("Consuming {Topic} failed: {Reason}; retrying", options.Topic, e.Error.Reason);
            return false;
        }
        if (record is null || record.IsPartitionEOF) return false;
        Absorb(record);
        return true;
    }

    private void Absorb(ConsumeResult<string?, byte[]> record)
    {
        offsets[record.TopicPartition] = record.Offset.Value + 1;
        ScoredBatch batch;
        try
        {
            batch = ScoredBatchCodec.Decode(record.Message.Value ?? []);
            var vocab = model.Config.VocabSize;
            foreach (var d in batch.Documents)
                foreach (var t in d.Windows.Tokens)
                    if (t >= vocab) throw new InvalidDataException($"document '{d.Id}' holds token id {t}, outside the model's vocabulary of {vocab} (another tokenizer?)");
        }
        catch (InvalidDataException e)
        {
            corrupt++;
            logger.LogError("Skipping the record at {Topic}[{Partition}]@{Offset}: {Reason}", record.Topic, record.Partition.Value, record.Offset.Value, e.Message);
            return;
        }
        if (!deduplicator.FirstSight(batch.BatchId))
        {
            duplicates++;
            logger.LogInformation("Skipping batch {BatchId} at {Topic}[{Partition}]@{Offset}: already consumed (a resend)",
                batch.BatchId, record.Topic, record.Partition.Value, record.Offset.Value);
            return;
        }
        // The newest GMM the scorer labelled with is the one to start from.
        if (batch.GmmVersion is { } version && !(newestGmmVersion >= version)) newestGmmVersion = version;
        scorerModel ??= batch.ScorerModel;
        foreach (var doc in batch.Documents)
        {
            if (doc.Windows.TokenCount == 0) continue;
            var tokens = DocumentTokens.Of(doc.Windows, options.WindowOverlap);
            if (validationFromStream && ValidationSplit.IsValidation(doc.Id, options.ValidationFraction))
            {
                if (!(options.ValidationExcludesNoisy && doc.Label == SampleLabel.Noisy)) validation.TryAdd(tokens, doc.Domain);
                continue;
            }
            packer.Add(batch.BatchId, tokens, doc.LossMean, doc.LossVariance);
            if (objective is null && gmmReservoir.Count < options.GmmSample) gmmReservoir.Add((doc.LossMean, doc.LossVariance));
        }
        if (packer.Seal(batch.BatchId)) completedOutsideSteps.Add(batch.BatchId);
    }

    /// <summary>The stored GMM version to weigh with: the configured one, else the newest the scorer labelled with so far.</summary>
    private int? WantedGmmVersion => options.GmmVersion ?? newestGmmVersion;

    /// <summary>Reading ahead holds documents in memory (and in the first checkpoint): past this bound the warm-up makes
    /// do with what it has, as when the stream is idle.</summary>
    private bool ReadAheadFull => packer.AvailableTokens > ReadAheadSteps * (long)SequencesPerStep * options.Training.SequenceLength;

    /// <summary>Whether the objective can be set up: meta-em and cluster-heuristic need a GMM (the scorer's, or the
    /// warm-up reservoir to fit one), meta-em a validation set. When the stream goes idle, what there is must do.</summary>
    private bool SetupReady(bool idle)
    {
        idle = idle || ReadAheadFull;
        if (options.NeedsGmm && gmm is null && !(GmmLookup is not null && WantedGmmVersion is not null && !gmmLookedUp))
        {
            var enough = gmmReservoir.Count >= options.GmmSample || (idle && gmmReservoir.Count >= MinimumGmmSample);
            if (!enough) return false;
        }
        if (options.NeedsValidation && validationFromStream && !validation.IsComplete)
        {
            // meta-em freezes the set when it starts: wait for enough distinct validation batches, not for a full set.
            var tokens = validation.TokenCount + validation.Documents.Count; // with an end-of-text token each
            var enough = tokens >= MetaValidationBatches * (long)options.MetaValidationBatch * options.Training.SequenceLength + 1
                         || (idle && tokens >= options.Training.SequenceLength + 1);
            if (!enough) return false;
        }
        return true;
    }

    /// <summary>Builds the objective; false when the scorer's GMM turned out not to be stored and the reservoir is too
    /// small to fit one yet.</summary>
    private async Task<bool> TrySetUpObjectiveAsync(bool idle, CancellationToken ct)
    {
        // The same bound SetupReady applies: a full read-ahead must not wait for a larger GMM sample.
        idle = idle || ReadAheadFull;
        var newGmm = false;
        if (options.NeedsGmm && gmm is null)
        {
            if (GmmLookup is not null && WantedGmmVersion is { } version && !gmmLookedUp)
            {
                gmmLookedUp = true;
                gmm = await GmmLookup(version, ct);
                if (gmm is not null) logger.LogInformation("{Strategy} weighs with the scorer's GMM version {Version}", options.Strategy, version);
            }
            if (gmm is null)
            {
                if (gmmReservoir.Count < (idle ? MinimumGmmSample : options.GmmSample)) return false;
                gmm = StrategyObjectives.FitGmm(gmmReservoir, options.GmmFeatures, options.LabelRule, options.Training.Seed, scorerModel ?? "unknown");
                logger.LogInformation("{Strategy}: no stored GMM of the scorer; fitted one on the statistics of {Count} documents", options.Strategy, gmmReservoir.Count);
            }
            newGmm = true;
        }
        TokenStream? validationStream = null;
        if (options.NeedsValidation)
        {
            validation.Freeze();
            validationStream = validation.ToTokenStream(options.EndOfTextToken, options.Training.SequenceLength, options.Training.Seed);
        }
        objective = StrategyObjectives.Create(options.Strategy, options.StrategyParameters, options.Training.Steps, statistics, gmm, validationStream, Reference,
            phiUpdated: update => pendingPhi.Add(update.Phi.ToRecord(RunId, update.Step, ClusterParameterSource.Meta)));
        gmmReservoir.Clear();
        if (objective is MetaEmObjective)
            logger.LogInformation("meta-em: {Settings}", options.Meta.Describe(Torch.Device.Parse(options.Training.Device).Type));
        if (newGmm && objective is MetaEmObjective meta)
        {
            await recorder.RecordClusterParametersAsync(meta.Strategy.Phi.ToRecord(RunId, Step, ClusterParameterSource.GmmInit), CancellationToken.None);
            Events?.Invoke(new ClusterParametersUpdated(RunId, Step, ClusterParameterSource.GmmInit));
        }
        return true;
    }

    private async Task<double> TrainStepAsync()
    {
        var t = options.Training;
        var micro = new List<PackedSequences>(t.GradientAccumulation);
        for (var i = 0; i < t.GradientAccumulation; i++) micro.Add(packer.Take(t.BatchSize));
        var completed = new List<Guid>(completedOutsideSteps);
        completedOutsideSteps.Clear();
        foreach (var m in micro) completed.AddRange(m.CompletedBatches);

        var clock = Stopwatch.StartNew();
        var step = Step;
        StepResult result;
        PendingStep pending;
        try
        {
            pending = trainingStep.Begin(step, objective!, () => micro.Select((p, i) =>
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
            while (!packer.CanTake(SequencesPerStep) && !ReadAheadFull && Poll(consumerForCheckpoints!, TimeSpan.Zero))
                ReadDuringSteps++;
            result = pending.Complete();
        }
        Step = result.Step;
        trainedBatches += completed.Count;
        var tokensPerSecond = (double)SequencesPerStep * t.SequenceLength / Math.Max(1e-9, clock.Elapsed.TotalSeconds);

        IReadOnlyDictionary<string, double>? validationLoss = null;
        if (validation.Documents.Count > 0 && (Step == t.Steps || (t.EvalEvery > 0 && Step % t.EvalEvery == 0)))
            validationLoss = HeldOutLoss.Compute(model, validation.ByDomain(), trainingStep.Device, t.BatchSize).ToDictionary(kv => kv.Key, kv => kv.Value.Loss);

        var metrics = new List<MetricValue>
        {
            new(Step, "loss", result.Loss), new(Step, "lr", result.LearningRate), new(Step, "grad_norm", result.GradNorm),
            new(Step, "tokens_per_s", tokensPerSecond), new(Step, "batches_trained", trainedBatches),
        };
        if (validationLoss is not null)
            foreach (var (domain, loss) in validationLoss)
                metrics.Add(new(Step, domain == HeldOutLoss.AllDomains ? "valid_loss" : $"valid_loss/{domain}", loss));
        // The step is taken: record it whole even when shutdown was requested meanwhile.
        await recorder.RecordMetricsAsync(RunId, metrics, CancellationToken.None);
        foreach (var phi in pendingPhi)
        {
            await recorder.RecordClusterParametersAsync(phi, CancellationToken.None);
            Events?.Invoke(new ClusterParametersUpdated(RunId, phi.Step, phi.Source));
        }
        pendingPhi.Clear();

        var summary = objective!.TakeSummary();
        logger.LogInformation("step {Step}/{Steps} loss {Loss:F4} lr {Lr:G3} grad {Grad:F3} {Rate:F0} tok/s{Valid} {Summary}", Step, t.Steps, result.Loss,
            result.LearningRate, result.GradNorm, tokensPerSecond, validationLoss is null ? "" : $" valid {validationLoss[HeldOutLoss.AllDomains]:F4}", summary);
        StepCompleted?.Invoke(new StepReport(Step, t.Steps, result.Loss, result.LearningRate, result.GradNorm, tokensPerSecond, validationLoss, completed, summary));
        if (t.CheckpointEvery > 0 && Step % t.CheckpointEvery == 0 && Step < t.Steps) Save(consumerForCheckpoints!);
        return result.Loss;
    }

    public void Dispose() => trainingStep.Dispose();
}
