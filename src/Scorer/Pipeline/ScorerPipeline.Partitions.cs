using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Reweighting.Storage.Writing;

namespace Reweighting.Scorer.Pipeline;

// Partition ownership: where an assigned partition starts (PostgreSQL's offsets), what a revocation throws away,
// and pausing everything while the store is unreachable. All of it runs on the loop thread (handlers run inside Consume).
public sealed partial class ScorerPipeline
{
    private static readonly TimeSpan OffsetReadTimeout = TimeSpan.FromSeconds(5);

    private readonly HashSet<TopicPartition> _assigned = [];
    // Assigned while PostgreSQL could not say where to start: paused, and sought once it can.
    private readonly HashSet<TopicPartition> _unpositioned = [];
    private readonly HashSet<TopicPartition> _pausedForOutage = [];
    private readonly ResiliencePipeline _readOffsets;
    private bool _inOutage;
    private long _outageSince;
    private long _nextPositioning;
    private TimeSpan _positioningDelay;
    private long _lastKafkaErrorLog = long.MinValue;

    private ResiliencePipeline BuildOffsetReadPipeline() => new ResiliencePipelineBuilder()
        .AddTimeout(OffsetReadTimeout)
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(TransientFailures.IsTransient),
            MaxRetryAttempts = 2,
            Delay = TimeSpan.FromMilliseconds(100),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
        })
        .Build();

    /// <summary>The stored next offset of each partition, or null when PostgreSQL cannot be read now.</summary>
    private Dictionary<int, long>? TryReadStoredOffsets()
    {
        try
        {
            var stored = _readOffsets.ExecuteAsync(async token => await _offsets.GetAsync(_options.GroupId, _options.Topic, token), _abort)
                .AsTask().GetAwaiter().GetResult();
            return stored.ToDictionary(o => o.Partition, o => o.NextOffset);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogWarning(e, "Could not read the stored offsets of group {Group} from PostgreSQL", _options.GroupId);
            return null;
        }
    }

    private static Offset StartOf(TopicPartition tp, Dictionary<int, long> stored) =>
        stored.TryGetValue(tp.Partition.Value, out var next) ? new Offset(next) : Offset.Beginning;

    private IEnumerable<TopicPartitionOffset> OnAssigned(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartition> partitions)
    {
        if (partitions.Count == 0) return [];
        _assigned.UnionWith(partitions);
        var stored = _inOutage ? null : TryReadStoredOffsets();
        if (stored is null)
        {
            // Start nowhere useful; the loop pauses these and seeks them to the stored offsets when PostgreSQL answers.
            _unpositioned.UnionWith(partitions);
            _positioningDelay = _options.OutageBaseDelay;
            _nextPositioning = _time.GetTimestamp();
            _logger.LogWarning("Assigned {Partitions}, but PostgreSQL cannot say where to resume; they wait paused", Describe(partitions));
            return partitions.Select(tp => new TopicPartitionOffset(tp, Offset.End)).ToList();
        }
        var starts = partitions.Select(tp => new TopicPartitionOffset(tp, StartOf(tp, stored))).ToList();
        _logger.LogInformation("Assigned {Partitions}; resuming from the offsets stored in PostgreSQL: {Offsets}",
            Describe(partitions), string.Join(", ", starts.Select(s => $"{s.Partition.Value}@{s.Offset}")));
        return starts;
    }

    private void OnRevoked(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartitionOffset> partitions) => GiveUp(partitions, "revoked");

    private void OnLost(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartitionOffset> partitions) => GiveUp(partitions, "lost");

    private void GiveUp(List<TopicPartitionOffset> partitions, string how)
    {
        var tps = partitions.Select(p => p.TopicPartition).ToList();
        _assigned.ExceptWith(tps);
        _unpositioned.ExceptWith(tps);
        _pausedForOutage.ExceptWith(tps);
        // Nothing of these partitions was stored: their next owner starts from PostgreSQL's offsets and reads them again.
        // That holds for every batch in flight; one being scored keeps scoring, and its revoked documents' scores are not stored.
        var dropped = _batch.Drop(tps);
        foreach (var job in _handedOver) dropped += job.Batch.Drop(tps);
        CountInFlight();
        if (dropped > 0) Statistics.Abandoned(dropped);
        _logger.LogInformation("Partitions {Partitions} {How}; {Dropped} records of them left the batches in flight unstored",
            Describe(tps), how, dropped);
    }

    private void OnError(IConsumer<byte[]?, byte[]?> consumer, Error error)
    {
        if (error.IsFatal) _logger.LogError("Fatal Kafka error: {Error}", error);
        else LogKafkaError(error);
    }

    private void LogKafkaError(Error error)
    {
        // Brokers that are down report every poll; one line every ten seconds says enough.
        var now = _time.GetTimestamp();
        if (_lastKafkaErrorLog != long.MinValue && _time.GetElapsedTime(_lastKafkaErrorLog, now) < TimeSpan.FromSeconds(10)) return;
        _lastKafkaErrorLog = now;
        _logger.LogWarning("Kafka: {Error} ({Code})", error.Reason, error.Code);
    }

    /// <summary>Seeks partitions assigned during an outage to their stored offsets once PostgreSQL answers.</summary>
    private void PositionPendingPartitions()
    {
        if (_unpositioned.Count == 0 || _time.GetTimestamp() < _nextPositioning) return;
        _consumer!.Pause(_unpositioned);
        var stored = TryReadStoredOffsets();
        if (stored is null)
        {
            _nextPositioning = _time.GetTimestamp() + (long)(_positioningDelay.TotalSeconds * _time.TimestampFrequency);
            _positioningDelay = _positioningDelay * 2 > _options.OutageMaxDelay ? _options.OutageMaxDelay : _positioningDelay * 2;
            return;
        }
        var starts = _unpositioned.Select(tp => new TopicPartitionOffset(tp, StartOf(tp, stored))).ToList();
        foreach (var start in starts) _consumer.Seek(start);
        _consumer.Resume(_unpositioned);
        _logger.LogInformation("Positioned {Partitions} at the offsets stored in PostgreSQL: {Offsets}", Describe(_unpositioned),
            string.Join(", ", starts.Select(s => $"{s.Partition.Value}@{s.Offset}")));
        _unpositioned.Clear();
    }

    /// <summary>Pauses every partition while the oldest batch waits for the store (first failure only); the batches
    /// behind it wait too, and no more are read.</summary>
    private void StartOutage(Exception cause, TimeSpan retryIn, int records)
    {
        if (!_inOutage)
        {
            _inOutage = true;
            _outageSince = _time.GetTimestamp();
            Statistics.OutageStarted();
            _pausedForOutage.UnionWith(_assigned);
            _consumer!.Pause(_pausedForOutage);
            _logger.LogWarning(cause, "Storing the batch of {Records} records failed (PostgreSQL, or Kafka for its dead letters, is unreachable); pausing {Partitions} until it succeeds",
                records, Describe(_pausedForOutage));
        }
        else
        {
            _logger.LogWarning("The batch is still not stored after {Seconds:F0} s ({Error}); next try in {Delay} ms",
                _time.GetElapsedTime(_outageSince).TotalSeconds, cause.GetBaseException().Message, (int)retryIn.TotalMilliseconds);
        }
    }

    private void EndOutage()
    {
        if (!_inOutage) return;
        _inOutage = false;
        var resume = _pausedForOutage.Where(tp => _assigned.Contains(tp) && !_unpositioned.Contains(tp)).ToList();
        _consumer!.Resume(resume);
        _pausedForOutage.Clear();
        _logger.LogInformation("The batch is stored after an outage of {Seconds:F1} s; resuming {Partitions}",
            _time.GetElapsedTime(_outageSince).TotalSeconds, Describe(resume));
    }

    /// <summary>Keeps polling (so the group keeps this member and rebalances run) for <paramref name="delay"/>;
    /// false when the stop's drain time ran out meanwhile.</summary>
    private bool WaitPolling(TimeSpan delay)
    {
        var from = _time.GetTimestamp();
        while (!_abort.IsCancellationRequested)
        {
            var left = delay - _time.GetElapsedTime(from);
            if (left <= TimeSpan.Zero) return true;
            if (Poll(left < _options.PollInterval ? left : _options.PollInterval) is not { IsPartitionEOF: false } result) continue;
            var tp = result.TopicPartition;
            if (!_assigned.Contains(tp) || _unpositioned.Contains(tp)) continue;
            // Fetched before the pause took hold (or assigned meanwhile): put it back for after the outage.
            _consumer!.Seek(result.TopicPartitionOffset);
            _consumer.Pause([tp]);
            _pausedForOutage.Add(tp);
        }
        return false;
    }

    private static string Describe(IEnumerable<TopicPartition> partitions) =>
        string.Join(", ", partitions.GroupBy(p => p.Topic).Select(g => $"{g.Key}[{string.Join(",", g.Select(p => p.Partition.Value).Order())}]"));
}
