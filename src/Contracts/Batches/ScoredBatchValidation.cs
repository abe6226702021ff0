namespace Reweighting.Contracts.Batches;

/// <summary>The rules a scored batch obeys, shared by the encoder (which refuses to write a batch that breaks them)
/// and the decoder (which refuses to return one): non-empty ids, finite statistics, a non-negative variance, scored
/// bytes null or positive (null without tokens), a compression ratio null or positive, an order gain null or finite, a
/// known label, probabilities in [0, 1], exactly K responsibilities per document, K at most
/// <see cref="ScoredBatchCodec.MaxComponents"/>, a GMM version that is null or non-negative.</summary>
public static class ScoredBatchValidation
{
    /// <summary>The first rule the batch breaks, or null when it keeps them all.</summary>
    public static string? Problem(ScoredBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (string.IsNullOrEmpty(batch.ScorerModel)) return "the scorer model id is empty";
        if (batch.GmmVersion is < 0) return $"GMM version {batch.GmmVersion} is negative";
        if (batch.Components is < 0 or > ScoredBatchCodec.MaxComponents)
            return $"component count {batch.Components} is outside [0, {ScoredBatchCodec.MaxComponents}]";
        if (batch.Documents is null) return "the document list is null";
        for (var i = 0; i < batch.Documents.Count; i++)
        {
            if (batch.Documents[i] is not { } d) return $"document {i} is null";
            if (Problem(d, batch.Components) is { } problem) return $"document {i} ('{d.Id}'): {problem}";
        }
        return null;
    }

    /// <summary>The first rule one document breaks in a batch of <paramref name="components"/> GMM components, or null.</summary>
    public static string? Problem(ScoredDocument d, int components)
    {
        ArgumentNullException.ThrowIfNull(d);
        if (string.IsNullOrEmpty(d.Id)) return "the id is empty";
        if (d.TokenCount < 0) return $"token count {d.TokenCount} is negative";
        if (d.ScoredBytes is <= 0) return $"scored bytes {d.ScoredBytes} is not positive (null means unknown)";
        if (d.ScoredBytes is not null && d.TokenCount == 0) return $"{d.ScoredBytes} scored bytes but no scored token";
        if (d.CompressionRatio is { } c && !(c > 0 && double.IsFinite(c)))
            return $"compression ratio {c} is not a positive finite number (null means unknown)";
        if (d.OrderGain is { } g && !double.IsFinite(g)) return $"order gain {g} is not a finite number (null means unknown)";
        if (!double.IsFinite(d.LossMean)) return $"loss mean {d.LossMean} is not finite";
        if (!double.IsFinite(d.LossVariance) || d.LossVariance < 0) return $"loss variance {d.LossVariance} is not a finite non-negative number";
        if (!Enum.IsDefined(d.Label)) return $"label {(int)d.Label} is not easy (0), hard (1) or noisy (2)";
        if (!(d.Confidence is >= 0f and <= 1f)) return $"confidence {d.Confidence} is outside [0, 1]";
        if (d.Responsibilities is null) return "responsibilities are null";
        if (d.Responsibilities.Length != components) return $"{d.Responsibilities.Length} responsibilities, the batch has {components} components";
        for (var k = 0; k < components; k++)
            if (!(d.Responsibilities[k] is >= 0f and <= 1f)) return $"responsibility {k} = {d.Responsibilities[k]} is outside [0, 1]";
        if (d.Windows is null) return "windows are null";
        return null;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first rule the batch breaks.</summary>
    public static void ThrowIfInvalid(ScoredBatch batch)
    {
        if (Problem(batch) is { } problem) throw new ArgumentException($"invalid scored batch {batch.BatchId}: {problem}", nameof(batch));
    }
}
