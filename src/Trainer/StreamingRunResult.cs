namespace Reweighting.Trainer;

/// <summary>How a run ended.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Step">Steps taken in all (including before a resume).</param>
/// <param name="Stop">Why it stopped: completed, idle or shutdown.</param>
/// <param name="Losses">The loss of every step this call ran.</param>
/// <param name="DuplicatesSkipped">Resent batches skipped by this call.</param>
/// <param name="CorruptSkipped">Undecodable or mismatched batches this call dead-lettered (or, with no dead-letter
/// producer, skipped).</param>
/// <param name="NoisySkipped">Documents labelled noisy this call left out (<see cref="TrainerOptions.SkipNoisy"/>).</param>
public sealed record StreamingRunResult(string RunId, long Step, TrainerStopReason Stop, IReadOnlyList<double> Losses,
    long DuplicatesSkipped, long CorruptSkipped, long NoisySkipped = 0)
{
    /// <summary>The stop reason's text (<see cref="TrainerStopReasons.ToText"/>), as logs, events and <c>--json</c> show it.</summary>
    public string StopReason => Stop.ToText();
}
