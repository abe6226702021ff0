using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Reweighting.Contracts.Control;
using Reweighting.Storage.Writing;

namespace Reweighting.Scorer.Pipeline;

// Storing: scored batches are labelled and written one at a time, oldest first, on the loop thread. Order matters for
// exactly-once: a batch's offsets are only written after every earlier batch's rows are, so a crash never leaves a gap.
public sealed partial class ScorerPipeline
{
    /// <summary>Stores every batch at the head of the queue that the proxy has finished with.</summary>
    private void StoreScoredBatches()
    {
        while (_handedOver.TryPeek(out var oldest) && oldest.IsScored && StoreOldest()) { }
    }

    /// <summary>Waits for the oldest handed-over batch to be scored, then labels and stores it, waiting out outages;
    /// false when the stop's drain time ran out and everything in flight was abandoned.</summary>
    private bool StoreOldest()
    {
        var job = _handedOver.Peek();
        var waiting = Stopwatch.GetTimestamp();
        var scored = job.WaitScored(_abort);
        Statistics.Add(ScorerStage.WaitForProxy, Stopwatch.GetTimestamp() - waiting);
        if (!scored)
        {
            AbandonAll("the stop's drain time ran out while the proxy was scoring");
            return false;
        }
        var labelling = Stopwatch.GetTimestamp();
        Label(job);
        Statistics.Add(ScorerStage.Label, Stopwatch.GetTimestamp() - labelling);
        Fault?.Invoke("scored");
        if (!Store(job)) return false;
        _handedOver.Dequeue();
        CountInFlight();
        return true;
    }

    /// <summary>Gives the documents still in the batch their scores and verdicts, with the GMM version current now.</summary>
    private void Label(ScoringJob job)
    {
        // Statistics and trainer windows from the losses, here rather than on the proxy's thread.
        var scores = _scorer.Finish(job.Prepared, job.Losses);
        var gmm = _labeller.Current;
        for (var i = 0; i < job.Documents.Count; i++)
        {
            // Documents revoked since the hand-over get theirs too; they are no longer in the batch, so nothing stores it.
            var document = job.Documents[i];
            var s = scores[i].Statistics with
            {
                Compression = document.CompressionRatio ?? double.NaN, OrderGain = document.OrderGain ?? double.NaN,
            };
            document.Score = scores[i];
            document.Verdict = gmm is null ? ProvisionalVerdict.Assignment : gmm.Assign(s);
        }
        job.Batch.MarkScored(gmm, _time.GetUtcNow());
    }

    /// <summary>Stores a scored batch; returns true with it stored (or emptied by revocations), false with everything in
    /// flight abandoned because the stop's drain time ran out.</summary>
    private bool Store(ScoringJob job)
    {
        var batch = job.Batch;
        var delay = _options.OutageBaseDelay;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (batch.IsEmpty)
            {
                // Everything it held was revoked while it was scored or while the store was away.
                EndOutage();
                return true;
            }
            try
            {
                foreach (var deadLetter in batch.DeadLetters.Where(d => !d.Delivered))
                {
                    _deadLetters.PublishAsync(deadLetter.Record, _abort).GetAwaiter().GetResult();
                    deadLetter.Delivered = true;
                }
                var encoding = Stopwatch.GetTimestamp();
                var scoreBatch = batch.ToScoreBatch(_model, _options.GroupId, _options.SnippetChars, _options.KeepText);
                var writing = Stopwatch.GetTimestamp();
                Statistics.Add(ScorerStage.Encode, writing - encoding);
                var stored = _writer.WriteAsync(scoreBatch, _abort).GetAwaiter().GetResult();
                Statistics.Add(ScorerStage.Store, Stopwatch.GetTimestamp() - writing);
                Fault?.Invoke("stored");
                Committed(stored, scoreBatch, batch, job.FirstConsumedAt, job.ScoringTime, clock.Elapsed);
                EndOutage();
                return true;
            }
            catch (Exception) when (_abort.IsCancellationRequested)
            {
                AbandonAll("the stop's drain time ran out");
                return false;
            }
            catch (Exception e) when (IsTransient(e))
            {
                StartOutage(e, delay, batch.RecordCount);
                if (!WaitPolling(delay))
                {
                    AbandonAll("the scorer stopped while the store was unreachable");
                    return false;
                }
                delay = delay * 2 > _options.OutageMaxDelay ? _options.OutageMaxDelay : delay * 2;
            }
        }
    }

    private void Committed(ScoreBatchResult result, ScoreBatch stored, InFlightBatch batch, long latencyFrom, TimeSpan scoring, TimeSpan writing)
    {
        if (result.AlreadyApplied)
        {
            // Committed by an earlier run whose acknowledgement was lost; its rows and outbox entry are in place.
            Statistics.WasAlreadyApplied();
            _logger.LogInformation("Batch {BatchId} was already stored (offsets {Offsets}); skipping it",
                stored.BatchId, string.Join(", ", stored.Offsets.Select(o => $"{o.Partition}:{o.NextOffset}")));
        }
        else
        {
            var observing = Stopwatch.GetTimestamp();
            try
            {
                if (stored.Scores.Count > 0) _labeller.Observe(stored.Scores);
            }
            catch (Exception e)
            {
                _logger.LogError(e, "The labeller failed to observe batch {BatchId}; scoring goes on", stored.BatchId);
            }
            Statistics.Add(ScorerStage.Observe, Stopwatch.GetTimestamp() - observing);
            Raise(new BatchScored(stored.BatchId, _options.InstanceId, stored.Scores.Count, batch.DeadLetters.Count, batch.Gmm?.Version));
            var latency = _time.GetElapsedTime(latencyFrom);
            _progress.Batch(stored.Scores.Count, stored.Scores.Sum(s => (long)s.TokenCount), batch.DeadLetters.Count, latency, scoring, writing);
            try
            {
                BatchLatency?.Invoke(latency);
            }
            catch (Exception e)
            {
                _logger.LogWarning(e, "The batch latency observer failed");
            }
        }
        StoreKafkaOffsets(batch);
        batch.Clear();
    }

    /// <summary>Mirrors the stored offsets into Kafka for lag monitoring; PostgreSQL stays the truth.</summary>
    private void StoreKafkaOffsets(InFlightBatch batch)
    {
        foreach (var tp in batch.Partitions)
        {
            if (!_assigned.Contains(tp)) continue;
            try
            {
                _consumer!.StoreOffset(new TopicPartitionOffset(tp, batch.NextOffset(tp)));
            }
            catch (KafkaException e)
            {
                _logger.LogDebug(e, "Could not store offset {Offset} of {Partition} in Kafka", batch.NextOffset(tp), tp);
            }
        }
    }

    /// <summary>Drops every batch in flight, the one being filled included: none may be stored once an earlier one is
    /// not, or its offsets would skip the earlier one's records. They are read again from the offsets in PostgreSQL.</summary>
    private void AbandonAll(string why)
    {
        var records = _batch.RecordCount + _handedOver.Sum(j => j.Batch.RecordCount);
        foreach (var job in _handedOver) job.Abandon();
        if (records > 0)
        {
            _logger.LogWarning("Abandoning {Records} records in {Batches} batches ({Why}); they are read again from the offsets in PostgreSQL",
                records, _handedOver.Count + (_batch.IsEmpty ? 0 : 1), why);
            Statistics.Abandoned(records);
        }
        _handedOver.Clear();
        _batch.Clear();
        CountInFlight();
    }
}
