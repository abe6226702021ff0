using Reweighting.Contracts;

namespace Reweighting.Storage.Writing;

/// <summary>A batch checked and de-duplicated for writing: one row per key (the last one wins), since a single
/// INSERT ... ON CONFLICT may not touch the same row twice.</summary>
internal sealed record PreparedBatch(
    Guid BatchId,
    IReadOnlyList<Document> Documents,
    IReadOnlyList<SampleScore> Scores,
    IReadOnlyList<ConsumerOffset> Offsets,
    byte[]? OutboxPayload)
{
    public static PreparedBatch From(ScoreBatch batch)
    {
        if (batch.BatchId == Guid.Empty) throw new ArgumentException("the batch id is empty");

        var documents = new Dictionary<string, Document>(StringComparer.Ordinal);
        foreach (var d in batch.Documents)
        {
            if (string.IsNullOrEmpty(d.Id)) throw new ArgumentException("a document has no id");
            if (d.ContentHash is not { Length: 32 }) throw new ArgumentException($"document '{d.Id}' has no 32-byte SHA-256 content hash");
            documents[d.Id] = d;
        }

        var scores = new Dictionary<(string, string), SampleScore>();
        foreach (var s in batch.Scores)
        {
            if (string.IsNullOrEmpty(s.DocumentId) || string.IsNullOrEmpty(s.ScorerModel))
                throw new ArgumentException("a score row has no document id or scorer model");
            if (!double.IsFinite(s.LossMean) || !double.IsFinite(s.LossVariance) || s.LossVariance < 0)
                throw new ArgumentException($"score of document '{s.DocumentId}' has a non-finite or negative statistic");
            if (s.ScoredBytes is <= 0 || (s.ScoredBytes is not null && s.TokenCount == 0))
                throw new ArgumentException($"score of document '{s.DocumentId}' covers {s.ScoredBytes} bytes with {s.TokenCount} tokens");
            if (s.CompressionRatio is { } ratio && !(ratio > 0 && double.IsFinite(ratio)))
                throw new ArgumentException(
                    $"score of document '{s.DocumentId}' has compression ratio {ratio}, not a positive finite number");
            if (s.OrderGain is { } gain && !double.IsFinite(gain))
                throw new ArgumentException($"score of document '{s.DocumentId}' has order gain {gain}, not a finite number");
            // Before the first GMM fit a row has no mixture (gmm_version NULL) and so no responsibilities.
            if (s.Responsibilities is null || (s.Responsibilities.Length == 0 && s.GmmVersion is not null))
                throw new ArgumentException($"score of document '{s.DocumentId}' has no responsibilities");
            scores[(s.DocumentId, s.ScorerModel)] = s;
        }

        var offsets = new Dictionary<(string, string, int), ConsumerOffset>();
        foreach (var o in batch.Offsets)
        {
            var key = (o.ConsumerGroup, o.Topic, o.Partition);
            // One batch can hold several records of a partition; only the furthest offset matters.
            if (!offsets.TryGetValue(key, out var seen) || seen.NextOffset < o.NextOffset) offsets[key] = o;
        }

        return new PreparedBatch(batch.BatchId,
            documents.Count == batch.Documents.Count ? batch.Documents : documents.Values.ToList(),
            scores.Count == batch.Scores.Count ? batch.Scores : scores.Values.ToList(),
            offsets.Values.ToList(), batch.OutboxPayload);
    }
}
