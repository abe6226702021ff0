using Microsoft.Extensions.Logging;

namespace Reweighting.Scorer.Pipeline;

/// <summary>Running totals of a scorer pipeline, readable from any thread.</summary>
public sealed class ScorerStatistics
{
    private long _documents, _tokens, _deadLetters, _batches, _alreadyApplied, _abandoned, _outages;

    /// <summary>Documents stored (batches found already applied not counted).</summary>
    public long Documents => Interlocked.Read(ref _documents);

    /// <summary>Scored tokens of the stored documents.</summary>
    public long Tokens => Interlocked.Read(ref _tokens);

    /// <summary>Records sent to the dead-letter topic in stored batches.</summary>
    public long DeadLetters => Interlocked.Read(ref _deadLetters);

    /// <summary>Batches committed to PostgreSQL.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Batches the store recognised as committed before (a restart after a commit that was not acknowledged).</summary>
    public long AlreadyApplied => Interlocked.Read(ref _alreadyApplied);

    /// <summary>Records dropped from the batch in flight: their partitions were revoked, or a stop ran out of time.</summary>
    public long AbandonedRecords => Interlocked.Read(ref _abandoned);

    /// <summary>Times the store became unreachable and the partitions were paused.</summary>
    public long Outages => Interlocked.Read(ref _outages);

    internal void Stored(int documents, long tokens, int deadLetters)
    {
        Interlocked.Add(ref _documents, documents);
        Interlocked.Add(ref _tokens, tokens);
        Interlocked.Add(ref _deadLetters, deadLetters);
        Interlocked.Increment(ref _batches);
    }

    internal void WasAlreadyApplied() => Interlocked.Increment(ref _alreadyApplied);
    internal void Abandoned(int records) => Interlocked.Add(ref _abandoned, records);
    internal void OutageStarted() => Interlocked.Increment(ref _outages);
}

/// <summary>Logs throughput at a fixed interval: documents/s, tokens/s, dead letters, and batch latency (first record
/// consumed to commit) over the interval.</summary>
internal sealed class ScorerProgress(ScorerStatistics totals, ILogger logger, TimeProvider time, TimeSpan interval)
{
    private long _since = time.GetTimestamp();
    private long _documents, _tokens, _deadLetters, _batches;
    private double _latencySum, _latencyMax, _scoreSum, _writeSum;

    /// <summary>Records one committed batch and logs when the interval is over.</summary>
    public void Batch(int documents, long tokens, int deadLetters, TimeSpan latency, TimeSpan scoring, TimeSpan writing)
    {
        totals.Stored(documents, tokens, deadLetters);
        _documents += documents;
        _tokens += tokens;
        _deadLetters += deadLetters;
        _batches++;
        _latencySum += latency.TotalMilliseconds;
        _latencyMax = Math.Max(_latencyMax, latency.TotalMilliseconds);
        _scoreSum += scoring.TotalMilliseconds;
        _writeSum += writing.TotalMilliseconds;
        logger.LogDebug("Batch of {Documents} documents, {Tokens} tokens, {DeadLetters} dead letters: scored in {ScoreMs:F0} ms, stored in {WriteMs:F0} ms, {LatencyMs:F0} ms after its first record",
            documents, tokens, deadLetters, scoring.TotalMilliseconds, writing.TotalMilliseconds, latency.TotalMilliseconds);
        Report(force: false);
    }

    /// <summary>Logs the interval so far (also at shutdown).</summary>
    public void Report(bool force)
    {
        var elapsed = time.GetElapsedTime(_since);
        if (!force && elapsed < interval) return;
        if (_batches > 0)
        {
            var seconds = Math.Max(elapsed.TotalSeconds, 1e-3);
            logger.LogInformation(
                "Scored {Documents} documents in {Batches} batches: {DocumentsPerSecond:F1} documents/s, {TokensPerSecond:F0} tokens/s, {DeadLetters} dead-lettered; batch latency mean {LatencyMs:F0} ms, max {MaxLatencyMs:F0} ms (scoring {ScoreMs:F0} ms, store {WriteMs:F0} ms per batch); {TotalDocuments} documents in all",
                _documents, _batches, _documents / seconds, _tokens / seconds, _deadLetters, _latencySum / _batches, _latencyMax,
                _scoreSum / _batches, _writeSum / _batches, totals.Documents);
        }
        _since = time.GetTimestamp();
        _documents = _tokens = _deadLetters = _batches = 0;
        _latencySum = _latencyMax = _scoreSum = _writeSum = 0;
    }
}
