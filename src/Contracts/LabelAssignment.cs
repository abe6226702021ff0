namespace Reweighting.Contracts;

/// <summary>A GMM's verdict on one point: component responsibilities, the label they favour and its probability.</summary>
public sealed record LabelAssignment(SampleLabel Label, double Confidence, double[] Responsibilities)
{
    /// <summary>The verdicts of a page of stored rows, where a row the mixture could not place (null) gets
    /// <paramref name="unplaced"/> (by row index) with confidence 0 and a uniform posterior over as many components as the
    /// placed rows have (1 when none was placed).</summary>
    public static LabelAssignment[] OrUniform(IReadOnlyList<LabelAssignment?> verdicts, Func<int, SampleLabel> unplaced)
    {
        var k = verdicts.FirstOrDefault(v => v is not null)?.Responsibilities.Length ?? 1;
        return verdicts.Select((v, i) => v ?? new LabelAssignment(unplaced(i), 0, Enumerable.Repeat(1.0 / k, k).ToArray())).ToArray();
    }
}
