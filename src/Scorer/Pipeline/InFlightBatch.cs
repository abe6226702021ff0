using Confluent.Kafka;
using Reweighting.Contracts;
using Reweighting.Contracts.Batches;
using Reweighting.Contracts.Documents;
using Reweighting.Statistics;
using Reweighting.Storage.Writing;

namespace Reweighting.Scorer.Pipeline;

/// <summary>A consumed document waiting in the micro-batch, and once scored, its verdict.</summary>
internal sealed class InFlightDocument(TopicPartitionOffset source, DocumentRecord record, int[] tokens)
{
    /// <summary>The document's compression ratio (<see cref="TextCompression.Ratio"/>), null for empty text.</summary>
    public double? CompressionRatio { get; } = TextCompression.Ratio(record.Text) is var r && double.IsFinite(r) ? r : null;

    /// <summary>The document's order gain (<see cref="WordOrder.Gain"/>), null for a text without words.</summary>
    public double? OrderGain { get; } = WordOrder.Gain(record.Text) is var g && double.IsFinite(g) ? g : null;

    public TopicPartitionOffset Source { get; } = source;
    public DocumentRecord Record { get; } = record;
    public int[] Tokens { get; } = tokens;
    public ProxyScore? Score { get; set; }
    public LabelAssignment? Verdict { get; set; }
}

/// <summary>A rejected record waiting for its dead letter to be acknowledged by Kafka.</summary>
internal sealed class InFlightDeadLetter(TopicPartitionOffset source, DeadLetterRecord record)
{
    public TopicPartitionOffset Source { get; } = source;
    public DeadLetterRecord Record { get; } = record;
    public bool Delivered { get; set; }
}

/// <summary>The micro-batch being filled, scored and stored: its documents, its dead letters, and the next offset of
/// every partition it read. Lives on the consumer's thread only (rebalance handlers run there too), so it needs no lock.</summary>
internal sealed class InFlightBatch
{
    private readonly List<InFlightDocument> _documents = [];
    private readonly List<InFlightDeadLetter> _deadLetters = [];
    private readonly Dictionary<TopicPartition, long> _nextOffsets = [];

    /// <summary>Stable id of the batch as it will be stored; a new one whenever its content changes.</summary>
    public Guid BatchId { get; private set; } = Guid.CreateVersion7();

    /// <summary>When the first record arrived (timestamp of the pipeline's clock), or null while empty.</summary>
    public long? StartedAt { get; private set; }

    /// <summary>When scoring and labelling finished.</summary>
    public DateTimeOffset? ScoredAt { get; private set; }

    /// <summary>The GMM version that labelled the batch (null: provisional verdicts, or not labelled yet).</summary>
    public ActiveGmm? Gmm { get; private set; }

    public IReadOnlyList<InFlightDocument> Documents => _documents;
    public IReadOnlyList<InFlightDeadLetter> DeadLetters => _deadLetters;
    public int RecordCount => _documents.Count + _deadLetters.Count;
    public bool IsEmpty => RecordCount == 0;
    public int TokenCount { get; private set; }
    public bool IsScored => ScoredAt is not null;

    public void Add(InFlightDocument document, long now)
    {
        _documents.Add(document);
        TokenCount += document.Tokens.Length;
        Advance(document.Source, now);
    }

    public void Add(InFlightDeadLetter deadLetter, long now)
    {
        _deadLetters.Add(deadLetter);
        Advance(deadLetter.Source, now);
    }

    private void Advance(TopicPartitionOffset source, long now)
    {
        StartedAt ??= now;
        var next = source.Offset.Value + 1;
        if (!_nextOffsets.TryGetValue(source.TopicPartition, out var seen) || seen < next) _nextOffsets[source.TopicPartition] = next;
    }

    /// <summary>Marks the batch scored and labelled with <paramref name="gmm"/>.</summary>
    public void MarkScored(ActiveGmm? gmm, DateTimeOffset at)
    {
        Gmm = gmm;
        ScoredAt = at;
    }

    /// <summary>Drops every record of the given partitions (revoked or lost: their new owner reads them again from the
    /// offsets in PostgreSQL). Returns how many records were dropped.</summary>
    public int Drop(IReadOnlyCollection<TopicPartition> partitions)
    {
        if (partitions.Count == 0 || IsEmpty) return 0;
        var set = partitions.ToHashSet();
        var dropped = _documents.RemoveAll(d => set.Contains(d.Source.TopicPartition))
                      + _deadLetters.RemoveAll(d => set.Contains(d.Source.TopicPartition));
        foreach (var tp in set) _nextOffsets.Remove(tp);
        if (dropped == 0) return 0;
        TokenCount = _documents.Sum(d => d.Tokens.Length);
        // Different content, different id: a batch id always names one set of rows.
        BatchId = Guid.CreateVersion7();
        if (IsEmpty) Clear();
        return dropped;
    }

    /// <summary>The partitions the batch read and the next offset of each.</summary>
    public IEnumerable<ConsumerOffset> Offsets(string group) =>
        _nextOffsets.Select(o => new ConsumerOffset(group, o.Key.Topic, o.Key.Partition.Value, o.Value));

    public IReadOnlyCollection<TopicPartition> Partitions => _nextOffsets.Keys;

    public long NextOffset(TopicPartition tp) => _nextOffsets[tp];

    /// <summary>The scored batch message (the outbox payload), or null when the batch holds no documents.</summary>
    public ScoredBatch? ToScoredBatch(string scorerModel)
    {
        if (!IsScored) throw new InvalidOperationException("the batch is not scored yet");
        if (_documents.Count == 0) return null;
        var components = Gmm?.Components ?? 0;
        var documents = _documents.Select(d => new ScoredDocument(
            d.Record.Id, d.Record.Domain, (int)d.Score!.Value.Statistics.Count, ScoredBytes(d), Mean(d), Variance(d),
            d.Verdict!.Label, (float)d.Verdict.Confidence, Array.ConvertAll(d.Verdict.Responsibilities, r => (float)r),
            d.Score.Value.Windows, d.CompressionRatio, d.OrderGain)).ToList();
        return new ScoredBatch(BatchId, scorerModel, Gmm?.Version, ScoredAt!.Value, components, documents);
    }

    /// <summary>Everything the store writes for this batch in one transaction.</summary>
    public ScoreBatch ToScoreBatch(string scorerModel, string group, int snippetChars, bool keepText)
    {
        var scored = ToScoredBatch(scorerModel);
        return new ScoreBatch(
            BatchId,
            _documents.Select(d => d.Record.ToDocument(snippetChars, keepText)).ToList(),
            ToSampleScores(scorerModel),
            Offsets(group).ToList(),
            scored is null ? null : ScoredBatchCodec.Encode(scored));
    }

    /// <summary>The score rows of the batch, with double-precision responsibilities.</summary>
    public List<SampleScore> ToSampleScores(string scorerModel) =>
        _documents.Select(d => new SampleScore(d.Record.Id, scorerModel, (int)d.Score!.Value.Statistics.Count, ScoredBytes(d), Mean(d),
            Variance(d), d.Verdict!.Responsibilities, d.Verdict.Label, d.Verdict.Confidence, Gmm?.Version, BatchId, ScoredAt!.Value,
            d.CompressionRatio, d.OrderGain))
            .ToList();

    /// <summary>The bytes the scored tokens cover; null (unknown) when nothing was scored or counted.</summary>
    private static long? ScoredBytes(InFlightDocument d)
    {
        var bytes = d.Score!.Value.Statistics.Bytes;
        return bytes > 0 ? bytes : null;
    }

    private static double Mean(InFlightDocument d) => d.Score!.Value.Statistics.Count == 0 ? 0 : d.Score.Value.Statistics.Mean;

    private static double Variance(InFlightDocument d) => d.Score!.Value.Statistics.Count == 0 ? 0 : Math.Max(0, d.Score.Value.Statistics.Variance);

    /// <summary>Empties the batch for the next one.</summary>
    public void Clear()
    {
        _documents.Clear();
        _deadLetters.Clear();
        _nextOffsets.Clear();
        TokenCount = 0;
        StartedAt = null;
        ScoredAt = null;
        Gmm = null;
        BatchId = Guid.CreateVersion7();
    }
}
