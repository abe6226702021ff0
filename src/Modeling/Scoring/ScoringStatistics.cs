using Reweighting.Modeling.Gpt;

namespace Reweighting.Modeling.Scoring;

/// <summary>What a <see cref="DocumentScorer"/> has run: forward passes, windows (rows), window tokens, and padding
/// tokens (the rest of each batch's rows × padded length).</summary>
public readonly record struct ScoringStatistics(long Batches, long Rows, long Tokens, long PaddingTokens)
{
    /// <summary>Token slots the forward passes computed: rows × padded length, summed over batches.</summary>
    public long BatchTokens => Tokens + PaddingTokens;

    /// <summary>Share of the computed token slots that were padding (0 when nothing ran).</summary>
    public double PaddingFraction => BatchTokens == 0 ? 0 : (double)PaddingTokens / BatchTokens;

    /// <summary>The statistics of one batch of windows padded to its longest.</summary>
    public static ScoringStatistics Of(IReadOnlyCollection<TokenWindow> batch)
    {
        if (batch.Count == 0) return default;
        var length = batch.Max(w => w.Inputs.Length);
        var tokens = batch.Sum(w => (long)w.Inputs.Length);
        return new ScoringStatistics(1, batch.Count, tokens, (long)batch.Count * length - tokens);
    }

    /// <summary>The statistics of several batches.</summary>
    public static ScoringStatistics Of(IEnumerable<IReadOnlyCollection<TokenWindow>> batches) =>
        batches.Aggregate(default(ScoringStatistics), (sum, b) => sum + Of(b));

    public static ScoringStatistics operator +(ScoringStatistics a, ScoringStatistics b) =>
        new(a.Batches + b.Batches, a.Rows + b.Rows, a.Tokens + b.Tokens, a.PaddingTokens + b.PaddingTokens);

    public override string ToString() => $"{Batches} batches, {Rows} windows, {PaddingFraction:P1} padding";
}
