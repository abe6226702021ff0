namespace Reweighting.Contracts;

/// <summary>The label a Gaussian mixture gives a document from its loss statistics.</summary>
public enum SampleLabel
{
    /// <summary>Low loss: the proxy model already predicts it well.</summary>
    Easy,

    /// <summary>Middling loss with structure worth learning.</summary>
    Hard,

    /// <summary>High loss and high variance: likely garbage, boilerplate or another language.</summary>
    Noisy,
}

/// <summary>Text forms of <see cref="SampleLabel"/>, as they appear in SQL and JSON.</summary>
public static class SampleLabels
{
    /// <summary>The lower-case name used by the PostgreSQL enum <c>sample_label</c>.</summary>
    public static string ToWire(this SampleLabel label) => label switch
    {
        SampleLabel.Easy => "easy",
        SampleLabel.Hard => "hard",
        SampleLabel.Noisy => "noisy",
        _ => throw new ArgumentOutOfRangeException(nameof(label), label, "unknown label"),
    };

    /// <summary>Parses the lower-case name; throws on anything else.</summary>
    public static SampleLabel Parse(string wire) => wire switch
    {
        "easy" => SampleLabel.Easy,
        "hard" => SampleLabel.Hard,
        "noisy" => SampleLabel.Noisy,
        _ => throw new FormatException($"'{wire}' is not a sample label (easy, hard or noisy)"),
    };
}
