namespace Reweighting.Reporting;

/// <summary>What a report covers and how large tables are sampled for plotting.</summary>
public sealed record ReportOptions
{
    /// <summary>Training runs to include; null includes every run.</summary>
    public IReadOnlyList<string>? RunIds { get; init; }

    /// <summary>Most scored documents drawn in the scatter and counted in the histograms (a seeded random sample beyond it).</summary>
    public int MaxScatterPoints { get; init; } = 5000;

    /// <summary>Seed of the document sample: the same seed over the same rows draws the same documents.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Most points drawn per line of a training curve; longer series keep every n-th step (and the last).</summary>
    public int MaxLinePoints { get; init; } = 1000;

    /// <summary>Throws <see cref="ArgumentException"/> for settings no report can be made with.</summary>
    public void Validate()
    {
        if (MaxScatterPoints <= 0) throw new ArgumentException($"the scatter needs at least one point, not {MaxScatterPoints}");
        if (MaxLinePoints < 2) throw new ArgumentException($"a line needs at least two points, not {MaxLinePoints}");
        if (RunIds is not null && RunIds.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException("run ids must not be empty");
    }
}
