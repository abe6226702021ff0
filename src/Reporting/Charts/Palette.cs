using Reweighting.Contracts;

namespace Reweighting.Reporting.Charts;

/// <summary>Colours from the Okabe–Ito palette, distinguishable under the common colour-vision deficiencies.</summary>
internal static class Palette
{
    public static readonly SampleLabel[] Labels = [SampleLabel.Easy, SampleLabel.Hard, SampleLabel.Noisy];

    public static string Of(SampleLabel label) => label switch
    {
        SampleLabel.Easy => "#009E73",  // bluish green
        SampleLabel.Hard => "#0072B2",  // blue
        SampleLabel.Noisy => "#D55E00", // vermillion
        _ => "#999999",
    };

    /// <summary>Colours of series that are not labels (runs, components), in order.</summary>
    private static readonly string[] Series = ["#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#F0E442", "#999999"];

    public static string SeriesColour(int index) => Series[index % Series.Length];

    /// <summary>Reference series (the uniform run) are drawn black and dashed.</summary>
    public const string Reference = "#000000";
}
