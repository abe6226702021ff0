using System.Diagnostics;

namespace Reweighting.Cli.Demo;

/// <summary>How long a demo stage may take: <see cref="Floor"/> plus <see cref="PerUnit"/> for each unit of its work
/// (a token scored, a step trained), and at most <see cref="Stall"/> without any change in what the store holds.</summary>
internal sealed record StageBound(TimeSpan Floor, TimeSpan PerUnit, TimeSpan Stall)
{
    /// <summary>Scoring: three minutes, plus 2 ms a token (500 tokens/s, far below any proxy's rate on one CPU core).</summary>
    public static readonly StageBound Scoring = new(TimeSpan.FromMinutes(3), TimeSpan.FromMilliseconds(2), TimeSpan.FromMinutes(3));

    /// <summary>Training: three minutes, plus 10 s a step (a meta-em step of the demo's model takes well under one).</summary>
    public static readonly StageBound Training = new(TimeSpan.FromMinutes(3), TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(3));

    /// <summary>The limit for <paramref name="units"/> of work.</summary>
    public TimeSpan For(double units) => Floor + PerUnit * units;
}

/// <summary>One look at a stage's durable state.</summary>
/// <param name="Done">The stage's work is in the store.</param>
/// <param name="Marker">Changes whenever the stored state advances (the stall clock restarts).</param>
/// <param name="Holds">What the store holds, for the failure line.</param>
/// <param name="Failure">Why the stage cannot finish any more (a service failed), or null.</param>
internal sealed record StageProbe(bool Done, string Marker, string Holds, string? Failure = null);

/// <summary>A stage that did not finish within its bound, or cannot finish.</summary>
internal sealed class StageFailedException(string message) : TimeoutException(message);

/// <summary>Waits for a stage's durable state.</summary>
internal static class StageWait
{
    /// <summary>Probes every <paramref name="interval"/> until the probe says done. Throws <see cref="StageFailedException"/>
    /// with one line naming the stage, what it waited for and what the store holds, when <paramref name="limit"/> passes,
    /// when nothing changed for the bound's stall time, or when the probe reports a failure.</summary>
    public static async Task UntilDoneAsync(string stage, string waitingFor, TimeSpan limit, TimeSpan stall, TimeSpan interval,
        Func<CancellationToken, Task<StageProbe>> probe, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var lastChange = TimeSpan.Zero;
        string? marker = null;
        while (true)
        {
            var look = await probe(ct);
            if (look.Done) return;
            if (look.Failure is { } failure)
                throw new StageFailedException($"{stage} cannot finish: {failure}; it was waiting for {waitingFor}; the database holds {look.Holds}");
            if (look.Marker != marker)
            {
                marker = look.Marker;
                lastChange = clock.Elapsed;
            }
            if (clock.Elapsed > limit)
                throw new StageFailedException($"{stage} did not finish within its bound of {limit.TotalSeconds:F0} s: it was waiting for {waitingFor}; " +
                                               $"the database holds {look.Holds}");
            if (clock.Elapsed - lastChange > stall)
                throw new StageFailedException($"{stage} stalled: nothing in the database changed for {stall.TotalSeconds:F0} s while it was waiting for " +
                                               $"{waitingFor}; the database holds {look.Holds}");
            await Task.Delay(interval, ct);
        }
    }
}
