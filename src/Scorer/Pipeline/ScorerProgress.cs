using Microsoft.Extensions.Logging;

namespace Reweighting.Scorer.Pipeline;

/// <summary>Running totals of a scorer pipeline, readable from any thread.</summary>
public sealed class ScorerStatistics
{
    private long _documents, _tokens, _deadLetters, _batches, _alreadyApplied, _abandoned, _outages;
    private readonly long[] _stageTicks = new long[Enum.GetValues<ScorerStage>().Length];
    private readonly long[] _closed = new long[Enum.GetValues<BatchClose>().Length];
    private long _handedOverTokens, _firstRecord;

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

    /// <summary>Where the pipeline's time went so far, stage by stage (each stage's wall time on its thread).</summary>
    public ScorerStageTimes Stages => new(
        Time(ScorerStage.Poll), Time(ScorerStage.Read), Time(ScorerStage.Proxy), Time(ScorerStage.ProxyIdle),
        Time(ScorerStage.WaitForProxy),
        Time(ScorerStage.Label), Time(ScorerStage.Encode), Time(ScorerStage.Store), Time(ScorerStage.Observe), Time(ScorerStage.Pack));

    /// <summary>How the micro-batches handed to the proxy were closed and how full they were.</summary>
    public ScorerBatchFill Fill => new(Closed(BatchClose.TokenBudget), Closed(BatchClose.RecordCount), Closed(BatchClose.MaxWait),
        Closed(BatchClose.CaughtUp), Closed(BatchClose.Stop), Interlocked.Read(ref _handedOverTokens));

    /// <summary><see cref="System.Diagnostics.Stopwatch"/> timestamp of the first record consumed, or null before it.</summary>
    public long? FirstRecordTimestamp => Interlocked.Read(ref _firstRecord) is var t and not 0 ? t : null;

    internal void Consumed(long timestamp) => Interlocked.CompareExchange(ref _firstRecord, timestamp, 0);

    internal void Add(ScorerStage stage, long stopwatchTicks) => Interlocked.Add(ref _stageTicks[(int)stage], stopwatchTicks);

    internal void HandedOver(BatchClose reason, long tokens)
    {
        Interlocked.Increment(ref _closed[(int)reason]);
        Interlocked.Add(ref _handedOverTokens, tokens);
    }

    private TimeSpan Time(ScorerStage stage) =>
        TimeSpan.FromSeconds(Interlocked.Read(ref _stageTicks[(int)stage]) / (double)System.Diagnostics.Stopwatch.Frequency);

    private long Closed(BatchClose reason) => Interlocked.Read(ref _closed[(int)reason]);

    internal void WasAlreadyApplied() => Interlocked.Increment(ref _alreadyApplied);
    internal void Abandoned(int records) => Interlocked.Add(ref _abandoned, records);
    internal void OutageStarted() => Interlocked.Increment(ref _outages);
}

/// <summary>A stage of the scorer pipeline whose time <see cref="ScorerStatistics"/> keeps.</summary>
public enum ScorerStage
{
    /// <summary>The loop thread waiting in Kafka's consume call.</summary>
    Poll,

    /// <summary>Parsing and tokenising consumed records (loop thread).</summary>
    Read,

    /// <summary>Forward passes (scoring thread).</summary>
    Proxy,

    /// <summary>The scoring thread waiting for a batch, after its first.</summary>
    ProxyIdle,

    /// <summary>The loop thread waiting for the proxy to finish the batch it must store next.</summary>
    WaitForProxy,

    /// <summary>Each document's statistics and trainer windows from its losses, and its label by the current GMM version
    /// (loop thread).</summary>
    Label,

    /// <summary>Building the stored batch: rows, documents and the encoded scored batch (loop thread).</summary>
    Encode,

    /// <summary>The PostgreSQL transaction, dead letters included (loop thread).</summary>
    Store,

    /// <summary>Handing committed rows to the labeller's reservoir (loop thread).</summary>
    Observe,

    /// <summary>Planning and packing a closed batch's forward passes at hand-over (loop thread).</summary>
    Pack,
}

/// <summary>Why a micro-batch was closed and handed to the proxy.</summary>
public enum BatchClose
{
    /// <summary>Its tokens reached <see cref="ScorerOptions.TokenBudget"/>.</summary>
    TokenBudget,

    /// <summary>Its records reached <see cref="ScorerOptions.MaxBatchRecords"/>.</summary>
    RecordCount,

    /// <summary><see cref="ScorerOptions.MaxWait"/> passed since its first record.</summary>
    MaxWait,

    /// <summary>The consumer had caught up and the proxy was idle (<see cref="ScorerOptions.CloseWhenCaughtUp"/>).</summary>
    CaughtUp,

    /// <summary>The scorer was stopping.</summary>
    Stop,
}

/// <summary>Each stage's summed wall time (see <see cref="ScorerStage"/>); stages of the two threads overlap in time.</summary>
public readonly record struct ScorerStageTimes(TimeSpan Poll, TimeSpan Read, TimeSpan Proxy, TimeSpan ProxyIdle, TimeSpan WaitForProxy,
    TimeSpan Label, TimeSpan Encode, TimeSpan Store, TimeSpan Observe, TimeSpan Pack);

/// <summary>How many micro-batches closed for each reason, and the tokens handed to the proxy in all.</summary>
public readonly record struct ScorerBatchFill(long ByTokenBudget, long ByRecordCount, long ByMaxWait, long ByCaughtUp, long ByStop,
    long Tokens)
{
    /// <summary>Micro-batches handed over.</summary>
    public long Batches => ByTokenBudget + ByRecordCount + ByMaxWait + ByCaughtUp + ByStop;

    /// <summary>Mean tokens per handed-over micro-batch as a share of <paramref name="tokenBudget"/>.</summary>
    public double MeanFill(int tokenBudget) => Batches == 0 ? 0 : Tokens / (double)Batches / tokenBudget;
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
