namespace Reweighting.Trainer;

/// <summary>How a streaming run ended.</summary>
public enum TrainerStopReason
{
    /// <summary>It reached Training.Steps.</summary>
    Completed,

    /// <summary>The stream was idle for StopWhenIdleFor.</summary>
    Idle,

    /// <summary>Cancelled (the host stopping).</summary>
    Shutdown,

    /// <summary>An exception ended it (a failed step, a failing callback); published on <c>TrainerStopped</c> with the
    /// exception's message, never returned by <see cref="StreamingTrainer.RunAsync"/>, which rethrows.</summary>
    Fatal,
}

/// <summary>The one mapping of <see cref="TrainerStopReason"/> to the text logs, <c>TrainerStopped</c> events, the
/// dashboard and <c>--json</c> output show ("completed", "idle", "shutdown", "fatal: ...").</summary>
public static class TrainerStopReasons
{
    /// <summary>The reason's text, e.g. <c>completed</c>.</summary>
    public static string ToText(this TrainerStopReason reason) => reason switch
    {
        TrainerStopReason.Completed => "completed",
        TrainerStopReason.Idle => "idle",
        TrainerStopReason.Shutdown => "shutdown",
        TrainerStopReason.Fatal => "fatal",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, "unknown stop reason"),
    };

    /// <summary>The reason a text names (completed, idle, shutdown; fatal with or without what failed).</summary>
    public static TrainerStopReason FromText(string text) => text switch
    {
        "completed" => TrainerStopReason.Completed,
        "idle" => TrainerStopReason.Idle,
        "shutdown" => TrainerStopReason.Shutdown,
        _ when text == "fatal" || text.StartsWith("fatal:", StringComparison.Ordinal) => TrainerStopReason.Fatal,
        _ => throw new ArgumentException($"'{text}' is not a stop reason"),
    };

    /// <summary>A fatal stop's text with what failed, e.g. <c>fatal: CUDA out of memory</c>.</summary>
    public static string Fatal(Exception error) => $"{TrainerStopReason.Fatal.ToText()}: {error.Message}";
}
