using System.Diagnostics;
using Confluent.Kafka;
using Reweighting.Contracts;
using Reweighting.Contracts.Documents;
using Reweighting.Text.Corpus;

namespace Reweighting.Cli.Streaming;

/// <summary>What an ingest produced.</summary>
/// <param name="Sent">Documents the broker acknowledged.</param>
/// <param name="Failed">Documents whose delivery failed.</param>
/// <param name="Bytes">JSON bytes sent.</param>
/// <param name="PerPartition">Acknowledged documents per partition.</param>
/// <param name="FirstError">The first delivery error, when any failed.</param>
internal sealed record IngestResult(long Sent, long Failed, long Bytes, IReadOnlyDictionary<int, long> PerPartition, string? FirstError);

/// <summary>Produces a corpus to the `documents` topic: one JSON record per document (docs/contracts.md), keyed by its
/// id, so any scorer instance can consume it. Delivery is confirmed per record; nothing is reported sent that the
/// broker did not acknowledge.</summary>
internal static class CorpusIngest
{
    /// <summary>The producer settings ingest uses: idempotent (a retried send is written once), all replicas
    /// acknowledge, LZ4 batches, and a bounded delivery timeout so an unreachable broker fails the command.</summary>
    public static ProducerConfig ProducerConfig(string bootstrapServers, TimeSpan deliveryTimeout) => new()
    {
        BootstrapServers = bootstrapServers,
        EnableIdempotence = true,
        Acks = Acks.All,
        CompressionType = CompressionType.Lz4,
        LingerMs = 20,
        MessageTimeoutMs = (int)deliveryTimeout.TotalMilliseconds,
        ClientId = "reweight-ingest",
    };

    public static IngestResult Run(IEnumerable<CorpusRecord> records, IProducer<string?, byte[]> producer, string topic, Action<string>? progress = null,
        CancellationToken cancel = default)
    {
        long sent = 0, failed = 0, bytes = 0, queued = 0;
        string? firstError = null;
        var perPartition = new Dictionary<int, long>();
        var gate = new object();
        var clock = Stopwatch.StartNew();
        foreach (var r in records)
        {
            if (cancel.IsCancellationRequested) break;
            var value = new DocumentRecord(r.Id, r.Text, r.Domain, r.Source).ToUtf8Json();
            var message = new Message<string?, byte[]>
            {
                Key = r.Id, Value = value,
                Headers = new Headers { { Topics.Headers.ContentType, System.Text.Encoding.UTF8.GetBytes(Topics.ContentTypes.Json) } },
            };
            while (true)
            {
                try
                {
                    producer.Produce(topic, message, report =>
                    {
                        lock (gate)
                        {
                            if (report.Error.IsError)
                            {
                                failed++;
                                firstError ??= $"{report.Error.Code}: {report.Error.Reason}";
                            }
                            else
                            {
                                sent++;
                                bytes += report.Message.Value.Length;
                                perPartition[report.Partition.Value] = perPartition.GetValueOrDefault(report.Partition.Value) + 1;
                            }
                        }
                    });
                    break;
                }
                catch (ProduceException<string?, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(100)); // the local queue drains as the broker acknowledges
                }
            }
            queued++;
            if (queued % 1000 == 0)
                lock (gate) progress?.Invoke($"queued {queued} documents, {sent} acknowledged, {failed} failed, {sent / Math.Max(1e-9, clock.Elapsed.TotalSeconds):F0} docs/s");
        }
        while (producer.Flush(TimeSpan.FromSeconds(1)) > 0)
        {
            lock (gate) progress?.Invoke($"waiting for acknowledgements: {sent + failed}/{queued}");
            if (cancel.IsCancellationRequested) break;
        }
        lock (gate) return new IngestResult(sent, failed, bytes, new Dictionary<int, long>(perPartition), firstError);
    }
}
