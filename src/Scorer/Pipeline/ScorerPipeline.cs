using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Reweighting.Contracts.Control;
using Reweighting.Contracts.Documents;
using Reweighting.Storage.Queries;
using Reweighting.Storage.Writing;

namespace Reweighting.Scorer.Pipeline;

/// <summary>The scorer's consume → batch → score → store loop over one Kafka consumer, on a thread of its own.</summary>
/// <remarks>
/// <para>Records are parsed as they arrive (bad ones become dead letters) and tokenised; a micro-batch closes at a
/// token budget, a record count, or a maximum wait. It is then handed to the <see cref="ScoringThread"/>, which scores
/// it on the proxy while this loop reads and tokenises the next one, so the GPU does not wait on Kafka or PostgreSQL.
/// Scored batches are labelled with the GMM version current at that moment and stored, strictly in the order they were
/// read — score rows, documents, the consumed offsets and the encoded scored batch for the outbox — each in one
/// PostgreSQL transaction, after its dead letters are acknowledged. At most <see cref="ScorerOptions.MaxBatchesInFlight"/>
/// batches are handed over and not yet stored; at that bound the loop stores the oldest before it reads on.
/// PostgreSQL's offsets are the truth: on every assignment the consumer starts from them, so a batch lost to a crash, a
/// revocation or a stop is read again, and a batch that did commit is never stored twice. Offsets are also stored in
/// Kafka after the commit, for lag monitoring only.</para>
/// <para>When PostgreSQL (or Kafka, for dead letters) is unreachable the oldest batch is kept, every partition is paused
/// and the consumer keeps polling so the group keeps it; the store is tried again with exponential back-off and the
/// partitions resume once the batch is in. A stop finishes the batches in flight, in order, within
/// <see cref="ScorerOptions.DrainTimeout"/> and abandons them after that; either way the consumer leaves the group cleanly.</para>
/// <para>Only the loop thread touches the consumer, the writer, the labeller and the batches; the scoring thread sees
/// a copy of each batch's token ids and hands back scores.</para>
/// <para>The consumer must be configured with <c>enable.auto.offset.store=false</c>; the pipeline installs the
/// rebalance handlers on the builder it is given, so production (Confluent) and the in-process broker wire the same way.</para>
/// </remarks>
public sealed partial class ScorerPipeline
{
    private readonly ScorerOptions _options;
    private readonly ConsumerBuilder<byte[]?, byte[]?> _consumerBuilder;
    private readonly DeadLetterPublisher _deadLetters;
    private readonly ProxyScorer _scorer;
    private readonly IDocumentLabeller _labeller;
    private readonly ScoreBatchWriter _writer;
    private readonly ConsumerOffsetQueries _offsets;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ScorerProgress _progress;
    private readonly string _model;
    // The batch being filled, and the closed ones handed to the scoring thread and not yet stored, oldest first.
    private InFlightBatch _batch = new();
    private readonly Queue<ScoringJob> _handedOver = new();
    private ScoringThread? _scoring;
    private IConsumer<byte[]?, byte[]?>? _consumer;
    private CancellationToken _abort;
    private int _inFlight;
    private int _running;

    /// <summary>Creates the pipeline; nothing runs until <see cref="RunAsync"/>.</summary>
    /// <param name="options">Validated settings.</param>
    /// <param name="consumerBuilder">Builder of the <c>documents</c> consumer (group id and connection set, auto offset store off).</param>
    /// <param name="deadLetterProducer">Producer for <c>documents.dlq</c>; the caller owns and disposes it.</param>
    /// <param name="scorer">The proxy model and tokenizer; the caller owns and disposes it.</param>
    /// <param name="labeller">Source of the GMM version that labels each batch.</param>
    /// <param name="database">The score store.</param>
    /// <param name="loggers">Logging; none when null.</param>
    /// <param name="time">The clock of batch waits, back-off and progress; the system clock when null.</param>
    public ScorerPipeline(ScorerOptions options, ConsumerBuilder<byte[]?, byte[]?> consumerBuilder, IProducer<byte[]?, byte[]> deadLetterProducer,
        ProxyScorer scorer, IDocumentLabeller labeller, NpgsqlDataSource database, ILoggerFactory? loggers = null, TimeProvider? time = null)
    {
        _options = options.Validate();
        _consumerBuilder = consumerBuilder;
        _scorer = scorer;
        _labeller = labeller;
        loggers ??= NullLoggerFactory.Instance;
        _logger = loggers.CreateLogger<ScorerPipeline>();
        _time = time ?? TimeProvider.System;
        _model = options.EffectiveModelId;
        _writer = new ScoreBatchWriter(database, options.WriteRetry, loggers.CreateLogger<ScoreBatchWriter>());
        _offsets = new ConsumerOffsetQueries(database);
        _deadLetters = new DeadLetterPublisher(deadLetterProducer, options.DeadLetterTopic, options.InstanceId, _logger);
        _progress = new ScorerProgress(Statistics, _logger, _time, options.ProgressInterval);
        _readOffsets = BuildOffsetReadPipeline();
    }

    /// <summary>Running totals.</summary>
    public ScorerStatistics Statistics { get; } = new();

    /// <summary>The proxy's forward passes, windows and padding so far (read it after the pipeline stopped, or accept a
    /// torn read: the scoring thread updates it).</summary>
    public Reweighting.Modeling.Scoring.ScoringStatistics ProxyBatches => _scorer.Statistics;

    /// <summary>Records consumed but not yet stored (documents and dead letters), in every batch in flight.</summary>
    public int InFlightRecords => Volatile.Read(ref _inFlight);

    /// <summary>Receives the scorer's control events on its loop thread (<see cref="ScorerStarted"/> once subscribed,
    /// <see cref="BatchScored"/> after each commit, <see cref="ScorerStopped"/>): hand them on, do not block.</summary>
    public Action<ControlEvent>? Events { get; init; }

    /// <summary>Receives each stored batch's latency, from its first consumed record to its commit (for monitoring), on
    /// the loop thread: do not block.</summary>
    public Action<TimeSpan>? BatchLatency { get; init; }

    /// <summary>Test seam: called at "consumed", "scoring" (on the scoring thread, before the proxy runs on a batch),
    /// "scored" (the oldest batch scored and labelled, before its store) and "stored" (after COMMIT, before Kafka hears
    /// of it); throw to crash there (a throw at "scoring" fails the batch, and the pipeline when that batch is due to be
    /// stored), or block at "scoring" to hold the proxy.</summary>
    internal Action<string>? Fault { get; set; }

    /// <summary>Consumes until <paramref name="stoppingToken"/> fires, then drains the batches in flight (bounded by
    /// <see cref="ScorerOptions.DrainTimeout"/>) and leaves the group. Faults on a fatal Kafka error or a batch the
    /// store refuses for good (never on transient outages, which it waits out).</summary>
    public Task RunAsync(CancellationToken stoppingToken)
    {
        if (Interlocked.Exchange(ref _running, 1) == 1) throw new InvalidOperationException("a scorer pipeline runs once");
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Consume blocks, so the loop owns a thread rather than borrowing one from the pool.
        var thread = new Thread(() =>
        {
            try
            {
                Run(stoppingToken);
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        { IsBackground = true, Name = "scorer-loop" };
        thread.Start();
        return done.Task;
    }

    private void Run(CancellationToken stoppingToken)
    {
        using var abort = new CancellationTokenSource();
        // A stop lets the batches in flight finish for DrainTimeout; then every wait and write in progress is cancelled.
        using var onStop = stoppingToken.Register(() => abort.CancelAfter(_options.DrainTimeout));
        _abort = abort.Token;
        _consumer = _consumerBuilder
            .SetPartitionsAssignedHandler(OnAssigned)
            .SetPartitionsRevokedHandler(OnRevoked)
            .SetPartitionsLostHandler(OnLost)
            .SetErrorHandler(OnError)
            .Build();
        _scoring = new ScoringThread(_scorer.Run, where => Fault?.Invoke(where), Statistics);
        try
        {
            _consumer.Subscribe(_options.Topic);
            Raise(new ScorerStarted(_options.InstanceId, _model, _labeller.Current?.Version));
            _logger.LogInformation("Scorer {Instance} consuming {Topic} in group {Group} with model {Model} on {Device}; GMM version {GmmVersion}",
                _options.InstanceId, _options.Topic, _options.GroupId, _model, _scorer.Device, _labeller.Current?.Version.ToString() ?? "none yet");
            while (!stoppingToken.IsCancellationRequested)
            {
                PositionPendingPartitions();
                StoreScoredBatches();
                var result = Poll(TimeUntilFlush());
                if (result is not null) Accept(result);
                if (CloseReason(caughtUp: result is null || result.IsPartitionEOF) is { } reason) HandOver(reason);
            }
            if (InFlightRecords > 0)
            {
                _logger.LogInformation("Stopping: finishing the {Records} records in flight (at most {Seconds:F1} s)",
                    InFlightRecords, _options.DrainTimeout.TotalSeconds);
                if (!_batch.IsEmpty) HandOver(BatchClose.Stop);
                while (_handedOver.Count > 0 && StoreOldest()) { }
            }
        }
        finally
        {
            _progress.Report(force: true);
            AbandonAll("the scorer stopped");
            // Lets a forward pass in progress end: the caller disposes the model once this returns.
            _scoring.Dispose();
            try
            {
                _consumer.Close();
            }
            catch (Exception e) when (e is KafkaException or InvalidOperationException)
            {
                _logger.LogWarning(e, "Leaving the consumer group failed; the group will notice after the session timeout");
            }
            _consumer.Dispose();
            _logger.LogInformation("Scorer {Instance} stopped after {Documents} documents in {Batches} batches ({DeadLetters} dead-lettered)",
                _options.InstanceId, Statistics.Documents, Statistics.Batches, Statistics.DeadLetters);
            Raise(new ScorerStopped(_options.InstanceId, Statistics.Documents, stoppingToken.IsCancellationRequested ? "shutdown" : "fatal"));
        }
    }

    private ConsumeResult<byte[]?, byte[]?>? Poll(TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return _consumer!.Consume(timeout);
        }
        catch (ConsumeException e) when (!e.Error.IsFatal)
        {
            LogKafkaError(e.Error);
            return null;
        }
        finally
        {
            // Waiting for the first record (joining the group) is start-up, not the stream's pace.
            if (Statistics.FirstRecordTimestamp is not null) Statistics.Add(ScorerStage.Poll, Stopwatch.GetTimestamp() - started);
        }
    }

    private TimeSpan TimeUntilFlush()
    {
        if (_batch.StartedAt is not { } started) return _options.PollInterval;
        var left = _options.MaxWait - _time.GetElapsedTime(started);
        return left <= TimeSpan.Zero ? TimeSpan.Zero : left < _options.PollInterval ? left : _options.PollInterval;
    }

    /// <summary>Why the batch being filled is to close now, or null while it may take more; <paramref name="caughtUp"/>:
    /// the last poll found no new record.</summary>
    private BatchClose? CloseReason(bool caughtUp) =>
        _batch.StartedAt is not { } started ? null
        : _batch.TokenCount >= _options.TokenBudget ? BatchClose.TokenBudget
        : _batch.RecordCount >= _options.MaxBatchRecords ? BatchClose.RecordCount
        : _time.GetElapsedTime(started) >= _options.MaxWait ? BatchClose.MaxWait
        : caughtUp && _options.CloseWhenCaughtUp && _handedOver.All(j => j.IsScored) ? BatchClose.CaughtUp
        : null;

    /// <summary>Parses one record into the batch: a tokenised document, or a dead letter with its reason.</summary>
    private void Accept(ConsumeResult<byte[]?, byte[]?> result)
    {
        if (result.IsPartitionEOF) return;
        var tp = result.TopicPartition;
        // Not ours any more, or not yet positioned from PostgreSQL (it will be sought there): not to be counted.
        if (!_assigned.Contains(tp) || _unpositioned.Contains(tp)) return;
        Fault?.Invoke("consumed");
        var reading = Stopwatch.GetTimestamp();
        Statistics.Consumed(reading);
        var key = result.Message.Key;
        var value = result.Message.Value;
        var parsed = DocumentRecord.Parse(value, key is null ? null : Encoding.UTF8.GetString(key), _options.DocumentLimits);
        var now = _time.GetTimestamp();
        if (parsed.IsValid)
        {
            _batch.Add(new InFlightDocument(result.TopicPartitionOffset, parsed.Record, _scorer.Tokenise(parsed.Record.Text)), now);
        }
        else
        {
            _logger.LogInformation("Dead-lettering {Topic}[{Partition}]@{Offset}: {Reason}",
                tp.Topic, tp.Partition.Value, result.Offset.Value, parsed.DeadLetter);
            _batch.Add(new InFlightDeadLetter(result.TopicPartitionOffset, DeadLetterRecord.For(parsed.DeadLetter, tp.Topic,
                tp.Partition.Value, result.Offset.Value, key, value, _time.GetUtcNow(), _options.InstanceId)), now);
        }
        Statistics.Add(ScorerStage.Read, Stopwatch.GetTimestamp() - reading);
        CountInFlight();
    }

    /// <summary>Hands the closed batch to the scoring thread and starts the next; then, while the in-flight bound is
    /// reached, stores the oldest (so at 1 every batch is scored and stored before the next record is read).</summary>
    private void HandOver(BatchClose reason)
    {
        Statistics.HandedOver(reason, _batch.TokenCount);
        // Packed here, on the loop thread, while the proxy may still compute the previous batch.
        var packing = Stopwatch.GetTimestamp();
        var job = new ScoringJob(_batch, _scorer.Prepare(_batch.Documents.Select(d => d.Tokens).ToList()));
        Statistics.Add(ScorerStage.Pack, Stopwatch.GetTimestamp() - packing);
        _batch = new InFlightBatch();
        _handedOver.Enqueue(job);
        _scoring!.Enqueue(job);
        while (_handedOver.Count >= _options.MaxBatchesInFlight && StoreOldest()) { }
    }

    private void CountInFlight()
    {
        var records = _batch.RecordCount;
        foreach (var job in _handedOver) records += job.Batch.RecordCount;
        Volatile.Write(ref _inFlight, records);
    }

    private void Raise(ControlEvent controlEvent)
    {
        try
        {
            Events?.Invoke(controlEvent);
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "A control event handler failed on {Event}", controlEvent.GetType().Name);
        }
    }

    private static bool IsTransient(Exception e) => e switch
    {
        BatchWriteException w => w.InnerException is { } inner && IsTransient(inner),
        KafkaException k => !k.Error.IsFatal && k.Error.Code != ErrorCode.MsgSizeTooLarge,
        _ => TransientFailures.IsTransient(e) || (e.InnerException is { } inner2 && TransientFailures.IsTransient(inner2)),
    };
}
