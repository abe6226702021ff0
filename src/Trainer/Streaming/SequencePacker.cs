using System.Text.Json.Serialization;
using Reweighting.Objectives;

namespace Reweighting.Trainer.Streaming;

/// <summary>A document's share of the packed token stream: its tokens and the scorer's statistics of it.</summary>
/// <param name="BatchId">The scored batch it came from.</param>
/// <param name="Tokens">Its tokens, after an end-of-text token when one is configured and it does not start with one.</param>
/// <param name="LossMean">The scorer's mean token loss of the document.</param>
/// <param name="LossVariance">The scorer's token-loss variance of the document.</param>
public sealed record PackedSegment(Guid BatchId, int[] Tokens, double LossMean, double LossVariance);

/// <summary>Training sequences cut from the packer: row-major (B, T) inputs and targets, each row's statistics
/// (the token-weighted combination of the documents its targets come from), and the batches whose last token was
/// trained by these rows.</summary>
public sealed record PackedSequences(long[] Inputs, long[] Targets, int Count, SampleStats Statistics, IReadOnlyList<Guid> CompletedBatches);

/// <summary>Packs documents' tokens into fixed-length training sequences: documents are joined into one token
/// stream (each after an end-of-text token, unless the scorer already put one first) and cut into
/// chunks of T + 1 tokens every T tokens, as <c>TokenStream</c> cuts a corpus. No padding: every target is a real
/// token. A sequence's statistics are those of the documents its targets come from, combined by their token counts
/// (mean Σ n_j μ_j / N, variance by the law of total variance), so a sequence inside one document carries exactly
/// that document's scorer statistics. What has not been cut yet is state that travels with checkpoints.</summary>
public sealed class SequencePacker
{
    private readonly int _length;
    private readonly int? _endOfText;
    private readonly LinkedList<PackedSegment> _segments = new();
    // Tokens of the first segment already used as targets (its first `head` tokens are behind the cursor, except the
    // one token that starts the next sequence as its first input).
    private int _head;
    // Whether the first segment's last token has been trained already (the cursor rests on it).
    private bool _headTrained;
    private long _available;
    // Batches whose tokens are all in the packer, in arrival order, with the number of their segments still pending.
    private readonly Dictionary<Guid, int> _pendingSegments = new();
    private readonly List<Guid> _sealedBatches = [];

    /// <param name="sequenceLength">T, inputs per sequence.</param>
    /// <param name="endOfText">Token that separates documents (put before each one that does not start with it), or null for none.</param>
    public SequencePacker(int sequenceLength, int? endOfText)
    {
        if (sequenceLength < 1) throw new ArgumentOutOfRangeException(nameof(sequenceLength), sequenceLength, "must be positive");
        _length = sequenceLength;
        this._endOfText = endOfText;
    }

    /// <summary>Tokens not yet cut into a sequence (counting the one a cut sequence shares with the next).</summary>
    public long AvailableTokens => _available;

    /// <summary>Documents (segments) held.</summary>
    public int Segments => _segments.Count;

    /// <summary>Whether <paramref name="count"/> sequences can be cut now.</summary>
    public bool CanTake(int count) => _available >= (long)count * _length + 1;

    /// <summary>Appends one document's tokens (nothing when it has none).</summary>
    public void Add(Guid batchId, ReadOnlySpan<int> documentTokens, double lossMean, double lossVariance)
    {
        if (documentTokens.Length == 0) return;
        var separate = _endOfText is { } eot && documentTokens[0] != eot;
        var tokens = new int[documentTokens.Length + (separate ? 1 : 0)];
        documentTokens.CopyTo(tokens.AsSpan(separate ? 1 : 0));
        if (separate) tokens[0] = _endOfText!.Value;
        _segments.AddLast(new PackedSegment(batchId, tokens, lossMean, lossVariance));
        _available += tokens.Length;
        _pendingSegments[batchId] = _pendingSegments.GetValueOrDefault(batchId) + 1;
    }

    /// <summary>Says that every document of the batch has been added. Returns true when the batch had nothing to train
    /// (it is complete at once); otherwise it completes with the sequence that trains its last token.</summary>
    public bool Seal(Guid batchId)
    {
        if (!_pendingSegments.ContainsKey(batchId)) return true;
        _sealedBatches.Add(batchId);
        return false;
    }

    /// <summary>Cuts <paramref name="count"/> sequences; throws when there are not enough tokens.</summary>
    public PackedSequences Take(int count)
    {
        if (!CanTake(count)) throw new InvalidOperationException($"{count} sequences of {_length} need {(long)count * _length + 1} tokens, {_available} are packed");
        var inputs = new long[count * _length];
        var targets = new long[count * _length];
        var means = new double[count];
        var variances = new double[count];
        var completed = new List<Guid>();
        var parts = new List<(int Tokens, double Mean, double Variance)>();
        for (var row = 0; row < count; row++)
        {
            parts.Clear();
            // Position 0 of the chunk is the token under the cursor; positions 1..T are this row's targets.
            var node = _segments.First!;
            var offset = _head;
            inputs[row * _length] = node.Value.Tokens[offset];
            for (var t = 1; t <= _length; t++)
            {
                offset++;
                if (offset == node.Value.Tokens.Length)
                {
                    node = node.Next!;
                    offset = 0;
                }
                var token = node.Value.Tokens[offset];
                targets[row * _length + t - 1] = token;
                if (t < _length) inputs[row * _length + t] = token;
                AddTargetOf(parts, node);
            }
            (means[row], variances[row]) = SampleStats.Combine(parts);
            // Advance the cursor by T: the last target becomes the next row's first input. Every token at or before
            // the cursor has been trained as a target (but the stream's very first token, which nothing predicts).
            _head += _length;
            _available -= _length;
            while (true)
            {
                var first = _segments.First!.Value;
                if (_head >= first.Tokens.Length)
                {
                    if (!_headTrained) Complete(first, completed);
                    _head -= first.Tokens.Length;
                    _segments.RemoveFirst();
                    _headTrained = false;
                    continue;
                }
                if (_head == first.Tokens.Length - 1 && !_headTrained)
                {
                    // Its last token was just trained; it stays as the next row's first input.
                    Complete(first, completed);
                    _headTrained = true;
                }
                break;
            }
        }
        return new PackedSequences(inputs, targets, count, new SampleStats(means, variances), completed);
    }

    private LinkedListNode<PackedSegment>? _lastCounted;

    private void Complete(PackedSegment segment, List<Guid> completed)
    {
        if (--_pendingSegments[segment.BatchId] > 0) return;
        _pendingSegments.Remove(segment.BatchId);
        if (_sealedBatches.Remove(segment.BatchId)) completed.Add(segment.BatchId);
    }

    private void AddTargetOf(List<(int Tokens, double Mean, double Variance)> parts, LinkedListNode<PackedSegment> node)
    {
        if (parts.Count > 0 && ReferenceEquals(_lastCounted, node))
        {
            parts[^1] = parts[^1] with { Tokens = parts[^1].Tokens + 1 };
            return;
        }
        _lastCounted = node;
        parts.Add((1, node.Value.LossMean, node.Value.LossVariance));
    }

    /// <summary>What the packer holds, for a checkpoint.</summary>
    public PackerState Save() => new(_head, _headTrained, [.. _segments], [.. _sealedBatches]);

    /// <summary>Restores what <see cref="Save"/> wrote (into an empty packer).</summary>
    public void Load(PackerState state)
    {
        if (_segments.Count > 0) throw new InvalidOperationException("the packer already holds tokens");
        foreach (var s in state.Segments)
        {
            _segments.AddLast(s);
            _available += s.Tokens.Length;
            _pendingSegments[s.BatchId] = _pendingSegments.GetValueOrDefault(s.BatchId) + 1;
        }
        if (state.HeadTrained && _segments.Count > 0 && --_pendingSegments[_segments.First!.Value.BatchId] == 0)
            _pendingSegments.Remove(_segments.First.Value.BatchId);
        if (state.Head < 0 || (_segments.Count > 0 && state.Head >= _segments.First!.Value.Tokens.Length) || (_segments.Count == 0 && state.Head != 0))
            throw new InvalidDataException($"packer state: cursor {state.Head} is outside its first segment");
        _head = state.Head;
        _headTrained = state.HeadTrained;
        _available -= _head;
        _sealedBatches.AddRange(state.SealedBatches);
    }
}

/// <summary>The packer's checkpointed state: the cursor into the first segment, the segments not fully trained, and the
/// batches waiting for their last token.</summary>
public sealed record PackerState(
    [property: JsonPropertyName("head")] int Head,
    [property: JsonPropertyName("head_trained")] bool HeadTrained,
    [property: JsonPropertyName("segments")] IReadOnlyList<PackedSegment> Segments,
    [property: JsonPropertyName("sealed_batches")] IReadOnlyList<Guid> SealedBatches);
