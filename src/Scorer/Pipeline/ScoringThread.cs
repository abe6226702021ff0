using System.Collections.Concurrent;
using System.Diagnostics;

namespace Reweighting.Scorer.Pipeline;

/// <summary>The thread that owns the proxy's forward passes: it scores handed-over batches one at a time, in the order
/// they were handed over, while the loop thread reads, tokenises and stores the others.</summary>
/// <remarks>The proxy is not thread-safe, so nothing else may score on it while this thread lives; how many batches
/// wait here is bounded by the pipeline (<see cref="ScorerOptions.MaxBatchesInFlight"/>), not by this queue.</remarks>
internal sealed class ScoringThread : IDisposable
{
    private readonly BlockingCollection<ScoringJob> _jobs = [];
    private readonly Func<PreparedDocuments, float[][]> _run;
    private readonly Action<string> _fault;
    private readonly ScorerStatistics? _statistics;
    private readonly Thread _thread;

    /// <summary>Starts the thread; <paramref name="fault"/> is the pipeline's test seam, called with "scoring";
    /// <paramref name="statistics"/> hears the time spent scoring and waiting for work.</summary>
    public ScoringThread(Func<PreparedDocuments, float[][]> run, Action<string> fault, ScorerStatistics? statistics = null)
    {
        _run = run;
        _fault = fault;
        _statistics = statistics;
        _thread = new Thread(Run) { IsBackground = true, Name = "scorer-proxy" };
        _thread.Start();
    }

    /// <summary>Queues a batch behind those handed over before it.</summary>
    public void Enqueue(ScoringJob job) => _jobs.Add(job);

    private void Run()
    {
        long? idleSince = null;
        foreach (var job in _jobs.GetConsumingEnumerable())
        {
            var started = Stopwatch.GetTimestamp();
            // Idle time counts from the end of the first batch: waiting for the very first is start-up, not a stall.
            if (idleSince is { } since) _statistics?.Add(ScorerStage.ProxyIdle, started - since);
            job.Run(_run, _fault);
            idleSince = Stopwatch.GetTimestamp();
            _statistics?.Add(ScorerStage.Proxy, idleSince.Value - started);
        }
    }

    /// <summary>Ends the thread after the batches still queued (abandon them first to skip them). Waits for a forward pass
    /// in progress, because the caller disposes the model once the pipeline returns.</summary>
    public void Dispose()
    {
        _jobs.CompleteAdding();
        _thread.Join();
        _jobs.Dispose();
    }
}
