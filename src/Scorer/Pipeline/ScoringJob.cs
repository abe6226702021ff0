using System.Diagnostics;

namespace Reweighting.Scorer.Pipeline;

/// <summary>A closed micro-batch handed to the <see cref="ScoringThread"/>: the documents it held at hand-over and,
/// once the proxy is done, their scores (or the proxy's failure).</summary>
/// <remarks>The scoring thread reads only <see cref="Documents"/> (a copy taken at hand-over; token ids never change)
/// and writes only the outcome, so the loop thread can keep the batch itself — revocations drop records from it while
/// it is scored — without a lock.</remarks>
internal sealed class ScoringJob
{
    private readonly TaskCompletionSource<float[][]> _losses = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _abandoned;

    /// <summary>A job for <paramref name="batch"/>, whose documents' forward passes <paramref name="prepared"/> holds
    /// packed, in the order of <see cref="Batch"/>'s documents at hand-over.</summary>
    public ScoringJob(InFlightBatch batch, PreparedDocuments prepared)
    {
        Batch = batch;
        Documents = [.. batch.Documents];
        Prepared = prepared;
        FirstConsumedAt = batch.StartedAt!.Value;
    }

    /// <summary>The documents' token ids and packed forward passes.</summary>
    public PreparedDocuments Prepared { get; }

    /// <summary>The batch as the loop thread keeps it (revoked records leave it; the scores of the rest are stored).</summary>
    public InFlightBatch Batch { get; }

    /// <summary>The documents as handed over, in the order of the scores.</summary>
    public IReadOnlyList<InFlightDocument> Documents { get; }

    /// <summary>When the batch's first record was consumed (pipeline clock), for its latency.</summary>
    public long FirstConsumedAt { get; }

    /// <summary>How long the proxy took (set before the scores are).</summary>
    public TimeSpan ScoringTime { get; private set; }

    /// <summary>Whether the proxy is done with the batch, successfully or not.</summary>
    public bool IsScored => _losses.Task.IsCompleted;

    /// <summary>Each document's token losses in <see cref="Documents"/> order; rethrows the proxy's failure.</summary>
    public float[][] Losses => _losses.Task.GetAwaiter().GetResult();

    /// <summary>Runs the batch's forward passes unless it was abandoned first; runs on the scoring thread.</summary>
    public void Run(Func<PreparedDocuments, float[][]> run, Action<string> fault)
    {
        if (_abandoned)
        {
            _losses.TrySetCanceled();
            return;
        }
        try
        {
            fault("scoring");
            var clock = Stopwatch.StartNew();
            var losses = Documents.Count == 0 ? [] : run(Prepared);
            ScoringTime = clock.Elapsed;
            _losses.TrySetResult(losses);
        }
        catch (Exception e)
        {
            _losses.TrySetException(e);
        }
    }

    /// <summary>Tells the scoring thread not to start this batch (a forward pass already running finishes).</summary>
    public void Abandon() => _abandoned = true;

    /// <summary>Waits until the proxy is done with the batch; false when <paramref name="abort"/> fired first.</summary>
    public bool WaitScored(CancellationToken abort)
    {
        try
        {
            _losses.Task.Wait(abort);
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            return false;
        }
        catch (AggregateException)
        {
            // Failed: Scores rethrows it where the batch would have been stored.
        }
        return true;
    }
}
