using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Reweighting.Contracts;
using Reweighting.Contracts.Documents;

namespace Reweighting.Scorer.Pipeline;

/// <summary>Sends rejected records to the dead-letter topic, keyed by their original key, with the reason in a header.
/// Transient produce failures are retried; a dead letter must be acknowledged before the offset that skips its record
/// is stored, so the DLQ is at-least-once (a crash in between sends it again).</summary>
internal sealed class DeadLetterPublisher(IProducer<byte[]?, byte[]> producer, string topic, string instance, ILogger logger)
{
    private readonly ResiliencePipeline _retry = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<ProduceException<byte[]?, byte[]>>(e => !e.Error.IsFatal && e.Error.Code != ErrorCode.MsgSizeTooLarge)
                .Handle<KafkaException>(e => !e.Error.IsFatal),
            MaxRetryAttempts = 3,
            Delay = TimeSpan.FromMilliseconds(100),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            OnRetry = args =>
            {
                logger.LogWarning(args.Outcome.Exception, "Dead-letter produce failed on attempt {Attempt}; retrying in {Delay} ms",
                    args.AttemptNumber + 1, (int)args.RetryDelay.TotalMilliseconds);
                return default;
            },
        })
        .Build();

    /// <summary>Produces the dead letter and waits for Kafka's acknowledgement.</summary>
    public async Task PublishAsync(DeadLetterRecord record, CancellationToken ct)
    {
        try
        {
            await _retry.ExecuteAsync(async token => await producer.ProduceAsync(topic, Message(record), token), ct);
        }
        catch (ProduceException<byte[]?, byte[]> e) when (e.Error.Code == ErrorCode.MsgSizeTooLarge && record.Value is { Length: > 0 } value)
        {
            // Base64 makes a record near the documents topic's size limit too large for the DLQ: keep the verdict and
            // where to find the original, without its bytes.
            logger.LogWarning("Dead letter of {Topic}[{Partition}]@{Offset} is too large for {DeadLetterTopic}; sending it without the value",
                record.SourceTopic, record.Partition, record.Offset, topic);
            var trimmed = record with
            {
                Value = null,
                Message = record.Message + string.Create(CultureInfo.InvariantCulture,
                    $" (the original value of {value.Length} bytes is not included: the dead letter would exceed the topic's message size limit)"),
            };
            await _retry.ExecuteAsync(async token => await producer.ProduceAsync(topic, Message(trimmed), token), ct);
        }
    }

    private Message<byte[]?, byte[]> Message(DeadLetterRecord record) => new()
    {
        Key = record.Key,
        Value = record.ToUtf8Json(),
        Headers = new Headers
        {
            { Topics.Headers.ContentType, Encoding.UTF8.GetBytes(Topics.ContentTypes.Json) },
            { Topics.Headers.DeadLetterReason, Encoding.UTF8.GetBytes(record.Reason.ToWire()) },
            { Topics.Headers.Producer, Encoding.UTF8.GetBytes(instance) },
        },
    };
}
