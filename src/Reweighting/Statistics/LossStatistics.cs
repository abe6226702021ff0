namespace Reweighting.Statistics;

/// <summary>Count, mean and population variance of a document's token losses, and the UTF-8 bytes those tokens cover,
/// accumulated one window at a time and merged exactly across windows (Chan et al.'s parallel update of the sum of
/// squared deviations; bytes simply add), so a long document scored in many windows gets the statistics of all its
/// tokens without cancellation error.</summary>
/// <param name="Count">L, the scored tokens (predictions).</param>
/// <param name="Mean">mu = 1/L sum l_j, nats per token.</param>
/// <param name="SquaredDeviations">sum (l_j - mu)^2.</param>
/// <param name="Bytes">B, the UTF-8 bytes of the scored (predicted) tokens; 0 when they were not counted.</param>
/// <param name="Compression">The whole document's DEFLATE-compressed size over its UTF-8 size
/// (<see cref="TextCompression.Ratio"/>): how much it repeats itself, whatever the proxy thinks of it. A property of the
/// document, not of a window: windows leave it NaN (unknown) and the document's merged statistics take it.</param>
/// <param name="OrderGain">The whole document's order gain (<see cref="WordOrder.Gain"/>): how much its compressibility owes
/// to the order of its words. A property of the document like <paramref name="Compression"/>; NaN when unknown (a text
/// without words, or not measured).</param>
public readonly record struct LossStatistics(
    long Count, double Mean, double SquaredDeviations, long Bytes = 0, double Compression = double.NaN, double OrderGain = double.NaN)
{
    public static readonly LossStatistics Empty = new(0, 0, 0);

    /// <summary>Population variance: sigma^2 = 1/L sum (l_j - mu)^2 (NaN for an empty document).</summary>
    public double Variance => Count == 0 ? double.NaN : SquaredDeviations / Count;

    /// <summary>Loss per byte: sum_j l_j / B = mu L / B, nats per UTF-8 byte, independent of how the tokenizer cuts the
    /// text (NaN when the bytes were not counted).</summary>
    public double LossPerByte => Bytes == 0 ? double.NaN : Mean * Count / Bytes;

    /// <summary>Bytes per token: B / L (NaN when the bytes were not counted).</summary>
    public double BytesPerToken => Bytes == 0 ? double.NaN : (double)Bytes / Count;

    /// <summary>Statistics of one window of losses (two passes: the mean, then the deviations from it).</summary>
    public static LossStatistics Of(ReadOnlySpan<float> losses)
    {
        if (losses.IsEmpty) return Empty;
        double sum = 0;
        foreach (var l in losses) sum += l;
        var mean = sum / losses.Length;
        double m2 = 0;
        foreach (var l in losses) m2 += (l - mean) * (l - mean);
        return new LossStatistics(losses.Length, mean, m2);
    }

    /// <summary>Statistics of one window of losses whose predicted tokens cover <paramref name="bytes"/> UTF-8 bytes.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative bytes, or bytes without losses.</exception>
    public static LossStatistics Of(ReadOnlySpan<float> losses, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (losses.IsEmpty && bytes > 0) throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "bytes without any scored token");
        return Of(losses) with { Bytes = bytes };
    }

    /// <summary>These statistics with the document's text measures, its compression ratio and order gain, taken from
    /// <paramref name="text"/>: every scorer that has the text measures them so.</summary>
    public LossStatistics WithTextMeasures(string text) =>
        this with { Compression = TextCompression.Ratio(text), OrderGain = WordOrder.Gain(text) };

    /// <summary>The statistics of the union of two disjoint sets of tokens.</summary>
    /// <exception cref="ArgumentException">One side counted its bytes and the other did not: the sum would be neither.</exception>
    public LossStatistics Merge(LossStatistics other)
    {
        if (other.Count == 0) return this;
        if (Count == 0) return other;
        if ((Bytes == 0) != (other.Bytes == 0))
            throw new ArgumentException(
                "one side counted its bytes and the other did not; a document's windows must all count them or none", nameof(other));
        var n = Count + other.Count;
        var delta = other.Mean - Mean;
        var mean = Mean + delta * other.Count / n;
        var m2 = SquaredDeviations + other.SquaredDeviations + delta * delta * ((double)Count * other.Count / n);
        return new LossStatistics(n, mean, m2, Bytes + other.Bytes, double.IsFinite(Compression) ? Compression : other.Compression,
            double.IsFinite(OrderGain) ? OrderGain : other.OrderGain);
    }
}
