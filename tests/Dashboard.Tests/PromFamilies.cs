using FluentAssertions;

namespace Reweighting.Dashboard.Tests;

/// <summary>Whether a scrape reports a figure: a family the registry knows but has no sample for (not known yet, or
/// withdrawn) reports nothing, as Prometheus reads it.</summary>
public static class PromFamilies
{
    /// <summary>True when <paramref name="name"/> has at least one sample.</summary>
    public static bool Reports(this IReadOnlyDictionary<string, PromFamily> families, string name) =>
        families.TryGetValue(name, out var family) && family.Samples.Count > 0;

    /// <summary>Asserts that <paramref name="name"/> has no sample.</summary>
    public static void ShouldNotReport(this IReadOnlyDictionary<string, PromFamily> families, string name, string because = "") =>
        families.Reports(name).Should().BeFalse($"{name} has no sample{(because.Length > 0 ? ": " + because : "")}");
}
