using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Reweighting.Contracts;
using Reweighting.Contracts.Batches;

namespace Reweighting.Trainer.Streaming;

/// <summary>Sends scored batches the trainer rejected to the dead-letter topic as <see cref="ScoredBatchDeadLetterRecord"/>
/// JSON, under their original key, with the reason code in the <c>dlq-reason</c> header, and waits for Kafka's
/// acknowledgement; transient produce failures are retried, anything else ends the run (its offset has not moved).</summary>
internal sealed class ScoredBatchDeadLetterPublisher(IProducer<string?, byte[]> producer, string topic, ILogger logger)
{
    private readonly ResiliencePipeline _retry = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<KafkaException>(e => !e.Error.IsFatal && e.Error.Code != ErrorCode.MsgSizeTooLarge),
            MaxRetryAttempts = 3,
            Delay = TimeSpan.FromMilliseconds(100),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            OnRetry = args =>
            {
                logger.LogWarning(args.Outcome.Exception, "Producing to {Topic} failed (attempt {Attempt}); retrying", topic, args.AttemptNumber + 1);
                return default;
            },
        })
        .Build();

    /// <summary>Produces the rejected record's dead letter, naming the run that rejected it.</summary>
    public async Task PublishAsync(IntakeOutcome.Rejected rejected, string runId, CancellationToken ct)
    {
        var source = rejected.Record;
        var value = source.Message.Value;
        var record = new ScoredBatchDeadLetterRecord(rejected.Reason, rejected.Message, source.Topic, source.Partition.Value, source.Offset.Value,
            source.Message.Key is { } key ? Encoding.UTF8.GetBytes(key) : null, value, DateTimeOffset.UtcNow, runId);
        try
        {
            await ProduceAsync(source.Message.Key, record, ct);
        }
        catch (ProduceException<string?, byte[]> e) when (e.Error.Code == ErrorCode.MsgSizeTooLarge && value is { Length: > 0 })
        {
            // Base64 grows a batch near the scored-batches size limit past the dead-letter topic's: keep the verdict and
            // where the original lies (scored-batches keeps it for its retention), without its bytes.
            logger.LogWarning("The dead letter of {Topic}[{Partition}]@{Offset} is too large for {DeadLetterTopic}; sending it without the batch's bytes",
                source.Topic, source.Partition.Value, source.Offset.Value, topic);
            await ProduceAsync(source.Message.Key, record with
            {
                Value = null,
                Message = $"{record.Message} (the batch's {value.Length} bytes are left out: the dead letter would exceed the topic's message size limit)",
            }, ct);
        }
    }

    private Task ProduceAsync(string? key, ScoredBatchDeadLetterRecord record, CancellationToken ct) =>
        _retry.ExecuteAsync(async token => await producer.ProduceAsync(topic, new Message<string?, byte[]>
        {
            Key = key,
            Value = record.ToUtf8Json(),
            Headers = new Headers
            {
                { Topics.Headers.ContentType, Encoding.UTF8.GetBytes(Topics.ContentTypes.Json) },
                { Topics.Headers.DeadLetterReason, Encoding.UTF8.GetBytes(record.Reason.ToWire()) },
                { Topics.Headers.Producer, Encoding.UTF8.GetBytes(record.RejectedBy ?? "trainer") },
            },
        }, token), ct).AsTask();
}
