using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Polly;
using Polly.Retry;
using Reweighting.Contracts;
using Reweighting.Contracts.Batches;
using Reweighting.Storage.Queries;

namespace Reweighting.Scorer.Outbox;

/// <summary>Publishes the scored batches of the transactional outbox (<c>scored_batch_outbox</c>) to
/// <c>scored-batches</c>. Each pass claims the oldest unpublished rows with <c>FOR UPDATE SKIP LOCKED</c> (so relays
/// running side by side never send a row concurrently), produces them with an idempotent producer, waits for every
/// acknowledgement, and sets <c>published_at</c> only on the rows the broker acknowledged, in the same transaction
/// that holds the claim.</summary>
/// <remarks>Delivery is at least once: a relay that dies after the broker acknowledged a row but before its
/// transaction committed leaves the row unpublished, and the next pass sends it again under the same key, the batch
/// id. The trainer deduplicates on that id. Within a pass, and across passes while nothing fails, rows go out in
/// <c>created_at</c> order; a record that fails while later ones of its pass succeed is sent again after them. Kafka
/// keeps order only per partition, and the key (the batch id) spreads batches over partitions.</remarks>
public sealed class OutboxRelay : IAsyncDisposable, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly Func<ProducerConfig, IProducer<byte[], byte[]>> _createProducer;
    private readonly ProducerConfig _producerConfig;
    private readonly OutboxRelayOptions _options;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline<int> _retry;
    private readonly WakeSignal _wake = new();
    private readonly HashSet<Guid> _unreadable = [];
    private IProducer<byte[], byte[]>? _producer;
    private long _published;

    /// <summary>A relay over <paramref name="dataSource"/>'s outbox. <paramref name="createProducer"/> builds a producer
    /// from the relay's config (<see cref="OutboxRelayOptions.ProducerConfig"/> over <paramref name="connection"/>), e.g.
    /// <c>c =&gt; new ProducerBuilder&lt;byte[], byte[]&gt;(c).Build()</c>; it is called again after a fatal producer error.</summary>
    public OutboxRelay(NpgsqlDataSource dataSource, Func<ProducerConfig, IProducer<byte[], byte[]>> createProducer,
        OutboxRelayOptions? options = null, ProducerConfig? connection = null, ILogger<OutboxRelay>? logger = null)
    {
        _dataSource = dataSource;
        _createProducer = createProducer;
        _options = (options ?? new OutboxRelayOptions()).Validate();
        _producerConfig = _options.ProducerConfig(connection);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _retry = new ResiliencePipelineBuilder<int>().AddRetry(new RetryStrategyOptions<int>
        {
            // Everything but the relay's own stop: the rows wait durably, so there is no error worth giving up for.
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is not null && !args.Context.CancellationToken.IsCancellationRequested),
            MaxRetryAttempts = int.MaxValue,
            Delay = _options.RetryBaseDelay,
            MaxDelay = _options.MaxRetryDelay,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            OnRetry = args =>
            {
                _logger.LogWarning(args.Outcome.Exception, "Outbox relay pass failed (attempt {Attempt}); retrying in {Delay} ms",
                    args.AttemptNumber + 1, (int)args.RetryDelay.TotalMilliseconds);
                return default;
            },
        }).Build();
    }

    /// <summary>Rows this relay has published and marked.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Test hook: runs after the broker acknowledged the claimed rows and before they are marked; throwing
    /// here is a crash between produce and mark.</summary>
    internal Func<IReadOnlyList<Guid>, CancellationToken, Task>? BeforeMarking { get; set; }

    /// <summary>Wakes the relay now, e.g. after the pipeline committed a batch with its outbox row.</summary>
    public void Notify() => _wake.Set();

    /// <summary>Publishes until cancelled: a pass whenever notified, at least every poll interval, and straight
    /// again while passes come back full. Failed passes are retried with exponential back-off, without limit.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        _logger.LogInformation("Outbox relay publishing to {Topic} (batch {BatchSize}, poll {Poll} ms)",
            Topics.ScoredBatches, _options.BatchSize, (int)_options.PollInterval.TotalMilliseconds);
        while (!ct.IsCancellationRequested)
        {
            _wake.Reset();
            int sent;
            try
            {
                sent = await _retry.ExecuteAsync(async token => await PublishPendingAsync(token), ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            if (sent >= _options.BatchSize) continue;
            try
            {
                await _wake.WaitAsync(_options.PollInterval, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
        }
    }

    /// <summary>Publishes the pending rows until a pass finds fewer than a batch; returns how many it published. Errors
    /// are not retried here.</summary>
    public async Task<int> DrainAsync(CancellationToken ct = default)
    {
        var total = 0;
        while (true)
        {
            var sent = await PublishPendingAsync(ct);
            total += sent;
            if (sent < _options.BatchSize) return total;
        }
    }

    /// <summary>One pass: claims up to a batch of the oldest unpublished rows, produces them, marks those acknowledged.
    /// Returns how many were published; throws (after marking the acknowledged ones) when any failed.</summary>
    public async Task<int> PublishPendingAsync(CancellationToken ct = default)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        var rows = await ClaimAsync(conn, tx, ct);
        if (rows.Count == 0)
        {
            await tx.CommitAsync(ct);
            return 0;
        }

        var producer = Producer();
        // Every record goes out before the first acknowledgement is awaited; the idempotent producer keeps them in
        // order per partition. No cancellation once sent: a record on its way cannot be called back.
        var sends = new List<(Guid Id, Task<DeliveryResult<byte[], byte[]>> Delivery)>(rows.Count);
        foreach (var row in rows)
        {
            Task<DeliveryResult<byte[], byte[]>> delivery;
            try
            {
                delivery = producer.ProduceAsync(Topics.ScoredBatches, Message(row), CancellationToken.None);
            }
            catch (Exception ex)
            {
                delivery = Task.FromException<DeliveryResult<byte[], byte[]>>(ex);
            }
            sends.Add((row.Id, delivery));
        }

        var acknowledged = new List<Guid>(rows.Count);
        Exception? failure = null;
        foreach (var (id, delivery) in sends)
        {
            try
            {
                var result = await delivery;
                if (result.Status == PersistenceStatus.Persisted) acknowledged.Add(id);
                else failure ??= new KafkaException(new Error(ErrorCode.Local_MsgTimedOut, $"batch {id} is {result.Status}, not persisted"));
            }
            catch (Exception ex)
            {
                failure ??= ex;
            }
        }
        if (failure is KafkaException { Error.IsFatal: true }) DropProducer(failure);

        if (acknowledged.Count > 0)
        {
            if (BeforeMarking is not null) await BeforeMarking(acknowledged, ct);
            await ScoredBatchOutboxQueries.MarkPublishedAsync(conn, tx, acknowledged.ToArray(), ct);
        }
        await tx.CommitAsync(ct);
        Interlocked.Add(ref _published, acknowledged.Count);
        if (acknowledged.Count > 0)
            _logger.LogDebug("Published {Count} scored batches from the outbox", acknowledged.Count);
        if (failure is not null)
            throw new OutboxPublishException($"{rows.Count - acknowledged.Count} of {rows.Count} scored batches were not acknowledged; they stay in the outbox", failure);
        return acknowledged.Count;
    }

    private async Task<List<OutboxRow>> ClaimAsync(NpgsqlConnection conn, NpgsqlTransaction tx, CancellationToken ct)
    {
        Guid[] skipped;
        lock (_unreadable) skipped = [.. _unreadable];
        var rows = new List<OutboxRow>(_options.BatchSize);
        foreach (var (id, payload) in await ScoredBatchOutboxQueries.ClaimAsync(conn, tx, _options.BatchSize, skipped, ct))
            if (ReadableHeader(id, payload) is { } header) rows.Add(new OutboxRow(id, payload, header));
        return rows;
    }

    /// <summary>The payload's header, or null (logged, and the row left for an operator) when the payload is not a
    /// scored batch with this id: sending it would hand the trainer a record it must dead-letter.</summary>
    private ScoredBatchHeader? ReadableHeader(Guid id, byte[] payload)
    {
        string problem;
        try
        {
            var header = ScoredBatchCodec.ReadHeader(payload);
            if (header.BatchId == id) return header;
            problem = $"its payload carries batch id {header.BatchId}";
        }
        catch (InvalidDataException ex)
        {
            problem = ex.Message;
        }
        lock (_unreadable) _unreadable.Add(id);
        _logger.LogError("Outbox row {BatchId} is not published: {Problem}. It stays unpublished; fix or delete it by hand", id, problem);
        return null;
    }

    private Message<byte[], byte[]> Message(OutboxRow row)
    {
        var headers = new Headers
        {
            { Topics.Headers.ContentType, Encoding.UTF8.GetBytes(Topics.ContentTypes.ScoredBatch) },
            { Topics.Headers.SchemaVersion, Encoding.UTF8.GetBytes($"{row.Header.MajorVersion}.{row.Header.MinorVersion}") },
        };
        if (_options.InstanceName is { } instance) headers.Add(Topics.Headers.Producer, Encoding.UTF8.GetBytes(instance));
        return new Message<byte[], byte[]> { Key = ScoredBatchCodec.EncodeKey(row.Id), Value = row.Payload, Headers = headers };
    }

    private IProducer<byte[], byte[]> Producer() => _producer ??= _createProducer(_producerConfig);

    /// <summary>A fatal error (e.g. the idempotent producer lost its sequence) leaves the producer unusable; the next
    /// pass builds a new one.</summary>
    private void DropProducer(Exception cause)
    {
        _logger.LogError(cause, "Fatal producer error; the outbox relay starts a new producer");
        _producer?.Dispose();
        _producer = null;
    }

    public void Dispose()
    {
        _producer?.Flush(TimeSpan.FromSeconds(5));
        _producer?.Dispose();
        _producer = null;
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private sealed record OutboxRow(Guid Id, byte[] Payload, ScoredBatchHeader Header);
}

/// <summary>Some claimed outbox rows were not acknowledged by the broker; they stay unpublished and are sent again.</summary>
public sealed class OutboxPublishException(string message, Exception inner) : Exception(message, inner);
