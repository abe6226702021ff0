namespace Reweighting.Scorer.Outbox;

/// <summary>An auto-reset wake-up for a polling loop: <see cref="Set"/> from any thread ends the current or next wait.
/// A signal that arrives while the loop works (after <see cref="Reset"/>) is kept, so the loop looks once more.</summary>
internal sealed class WakeSignal
{
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Set() => Volatile.Read(ref _signal).TrySetResult();

    /// <summary>Forgets a signal already consumed; call before each pass.</summary>
    public void Reset()
    {
        var current = Volatile.Read(ref _signal);
        if (current.Task.IsCompleted)
            Interlocked.CompareExchange(ref _signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), current);
    }

    /// <summary>Waits for a signal or the timeout; throws only on cancellation.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            await Volatile.Read(ref _signal).Task.WaitAsync(timeout, ct);
        }
        catch (TimeoutException)
        {
            // The periodic poll.
        }
    }
}
