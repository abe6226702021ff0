using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Reweighting.Contracts;
using Reweighting.Contracts.Batches;

namespace Reweighting.Trainer.Streaming;

/// <summary>The trainer's side of the <c>scored-batches</c> stream: decodes each record, checks its tokens against the
/// model's vocabulary, skips resent batches by id, routes documents to the held-out validation set or packs them into
/// training sequences, and keeps the consumed offsets. It never waits on anything: dead-lettering a rejected record is
/// the caller's, after which <see cref="MovePast"/> moves its offset on.</summary>
public sealed class BatchIntake
{
    // Steps' worth of packed tokens the warm-up may read ahead before it stops waiting for a GMM sample or validation set.
    private const int ReadAheadSteps = 64;

    private readonly TrainerOptions _options;
    private readonly int _vocabulary;
    private readonly ValidationSet _validation;
    private readonly bool _validationFromStream;
    private readonly ILogger _logger;
    private readonly Dictionary<TopicPartition, long> _offsets = new();
    private readonly List<Guid> _completedOutsideSteps = [];

    /// <param name="options">The trainer's settings (topic, window overlap, validation split, step shape).</param>
    /// <param name="vocabulary">The model's vocabulary size: a batch with a token id at or above it is rejected.</param>
    /// <param name="validation">The validation set stream documents are held out into.</param>
    /// <param name="validationFromStream">Whether validation comes from the stream (else from a file, and no document is held out).</param>
    /// <param name="logger">Where skipped resends are logged.</param>
    public BatchIntake(TrainerOptions options, int vocabulary, ValidationSet validation, bool validationFromStream, ILogger logger)
    {
        this._options = options;
        this._vocabulary = vocabulary;
        this._validation = validation;
        this._validationFromStream = validationFromStream;
        this._logger = logger;
        Packer = new SequencePacker(options.Training.SequenceLength, options.EndOfTextToken);
        Deduplicator = new BatchDeduplicator(options.DeduplicationWindow);
    }

    /// <summary>Documents consumed but not yet trained.</summary>
    public SequencePacker Packer { get; }

    /// <summary>Ids of the batches consumed most recently.</summary>
    public BatchDeduplicator Deduplicator { get; }

    /// <summary>The next offset to consume, per partition: past every record accepted, skipped as a resend, or moved past.</summary>
    public IReadOnlyDictionary<TopicPartition, long> Offsets => _offsets;

    /// <summary>Resent batches skipped.</summary>
    public long Duplicates { get; private set; }

    /// <summary>Records rejected (undecodable, or outside the vocabulary).</summary>
    public long Rejected { get; private set; }

    /// <summary>Sequences one optimiser step takes (micro-batch size times accumulation).</summary>
    public int SequencesPerStep => _options.Training.BatchSize * _options.Training.GradientAccumulation;

    /// <summary>Whether a whole step's sequences are packed.</summary>
    public bool CanTakeStep => Packer.CanTake(SequencesPerStep);

    /// <summary>Reading ahead holds documents in memory (and in the first checkpoint): past this bound the warm-up makes
    /// do with what it has, as when the stream is idle.</summary>
    public bool ReadAheadFull => Packer.AvailableTokens > ReadAheadSteps * (long)SequencesPerStep * _options.Training.SequenceLength;

    /// <summary>Documents left out because the scorer labelled them noisy (<see cref="TrainerOptions.SkipNoisy"/>).</summary>
    public long SkippedNoisy { get; private set; }

    /// <summary>Decides which documents <see cref="TrainerOptions.SkipNoisy"/> leaves out instead of the label each was
    /// scored with: a stored GMM version's verdict on the document's statistics, so documents scored provisionally or
    /// by an older version are judged as the store now labels them.</summary>
    public Func<ScoredDocument, bool>? NoisyJudge { get; set; }

    /// <summary>Takes in one consumed record.</summary>
    public IntakeOutcome Absorb(ConsumeResult<string?, byte[]> record)
    {
        if (Problem(record, out var batch) is { } rejected)
        {
            Rejected++;
            return rejected;
        }
        _offsets[record.TopicPartition] = record.Offset.Value + 1;
        if (!Deduplicator.FirstSight(batch.BatchId))
        {
            Duplicates++;
            _logger.LogInformation("Skipping batch {BatchId} at {Topic}[{Partition}]@{Offset}: already consumed (a resend)",
                batch.BatchId, record.Topic, record.Partition.Value, record.Offset.Value);
            return new IntakeOutcome.Duplicate(batch.BatchId);
        }
        var packed = new List<(double Mean, double Variance, bool Noisy)>(batch.Documents.Count);
        foreach (var doc in batch.Documents)
        {
            if (doc.Windows.TokenCount == 0) continue;
            var tokens = DocumentTokens.Of(doc.Windows, _options.WindowOverlap);
            if (_validationFromStream && ValidationSplit.IsValidation(doc.Id, _options.ValidationFraction))
            {
                if (!(_options.ValidationExcludesNoisy && doc.Label == SampleLabel.Noisy)) _validation.TryAdd(tokens, doc.Domain);
                continue;
            }
            if (_options.SkipNoisy && (NoisyJudge?.Invoke(doc) ?? doc.Label == SampleLabel.Noisy))
            {
                SkippedNoisy++;
                continue;
            }
            Packer.Add(batch.BatchId, tokens, doc.LossMean, doc.LossVariance);
            packed.Add((doc.LossMean, doc.LossVariance, doc.Label == SampleLabel.Noisy));
        }
        if (Packer.Seal(batch.BatchId)) _completedOutsideSteps.Add(batch.BatchId);
        return new IntakeOutcome.Accepted(batch, packed);
    }

    /// <summary>Moves the offset past a rejected record, once its dead letter is acknowledged.</summary>
    public void MovePast(ConsumeResult<string?, byte[]> record) => _offsets[record.TopicPartition] = record.Offset.Value + 1;

    /// <summary>Restores a checkpoint's offsets of this topic ("topic:partition" keys), packed remainder and recent batch ids.</summary>
    public void Restore(IReadOnlyDictionary<string, long> savedOffsets, StreamState stream)
    {
        foreach (var (key, next) in savedOffsets)
        {
            var colon = key.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(key[(colon + 1)..], out var partition)) throw new InvalidDataException($"checkpoint offset key '{key}' is not topic:partition");
            if (key[..colon] == _options.Topic) _offsets[new TopicPartition(_options.Topic, partition)] = next;
        }
        Packer.Load(stream.Packer);
        Deduplicator.Load(stream.RecentBatches);
    }

    /// <summary>One step's micro-batches, and the batches it completes: those whose last token it trains, and those
    /// completed outside steps (nothing to train) since the last one.</summary>
    public (IReadOnlyList<PackedSequences> MicroBatches, IReadOnlyList<Guid> Completed) TakeStep()
    {
        var t = _options.Training;
        var micro = new List<PackedSequences>(t.GradientAccumulation);
        for (var i = 0; i < t.GradientAccumulation; i++) micro.Add(Packer.Take(t.BatchSize));
        var completed = new List<Guid>(_completedOutsideSteps);
        _completedOutsideSteps.Clear();
        foreach (var m in micro) completed.AddRange(m.CompletedBatches);
        return (micro, completed);
    }

    private IntakeOutcome.Rejected? Problem(ConsumeResult<string?, byte[]> record, out ScoredBatch batch)
    {
        try
        {
            batch = ScoredBatchCodec.Decode(record.Message.Value ?? []);
        }
        catch (InvalidDataException e)
        {
            batch = null!;
            return new IntakeOutcome.Rejected(record, ScoredBatchRejection.Undecodable, e.Message);
        }
        foreach (var d in batch.Documents)
            foreach (var t in d.Windows.Tokens)
                if (t >= _vocabulary)
                    return new IntakeOutcome.Rejected(record, ScoredBatchRejection.OutsideVocabulary,
                        $"document '{d.Id}' holds token id {t}, outside the model's vocabulary of {_vocabulary} (another tokenizer?)");
        return null;
    }
}
