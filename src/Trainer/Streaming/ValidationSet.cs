using System.Text.Json;
using System.Text.Json.Serialization;
using Reweighting.Modeling.Evaluation;
using Reweighting.Modeling.Training;

namespace Reweighting.Trainer.Streaming;

/// <summary>One clean validation document: its tokens and domain.</summary>
public sealed record ValidationDocument(
    [property: JsonPropertyName("tokens")] int[] Tokens,
    [property: JsonPropertyName("domain")] string? Domain = null);

/// <summary>The clean validation documents the trainer evaluates on and meta-em's meta-update reads: from a file, or
/// held out of the stream by <see cref="ValidationSplit"/> up to a capacity, after which the set is fixed. Documents
/// held out of the stream came from consumed offsets, so they travel with checkpoints.</summary>
public sealed class ValidationSet(int capacity)
{
    private readonly List<ValidationDocument> _documents = [];

    /// <summary>Whether the set is fixed (read from a file, or full).</summary>
    public bool IsComplete { get; private set; }

    /// <summary>The documents.</summary>
    public IReadOnlyList<ValidationDocument> Documents => _documents;

    /// <summary>Tokens over all documents.</summary>
    public long TokenCount => _documents.Sum(d => (long)d.Tokens.Length);

    /// <summary>Reads a JSON-lines file: each line an array of token ids or an object with "tokens" (and "domain").</summary>
    public static ValidationSet FromFile(string path)
    {
        var set = new ValidationSet(int.MaxValue);
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                var doc = line.TrimStart().StartsWith('[')
                    ? new ValidationDocument(JsonSerializer.Deserialize<int[]>(line)!)
                    : JsonSerializer.Deserialize<ValidationDocument>(line) ?? throw new JsonException("null");
                if (doc.Tokens is null || doc.Tokens.Length < 2) throw new JsonException("a document needs at least two tokens");
                if (doc.Tokens.Any(t => t < 0)) throw new JsonException("token ids must be non-negative");
                set._documents.Add(doc);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}:{number}: not a validation document ({e.Message}); expected [ids...] or {{\"tokens\": [ids...], \"domain\": ...}}", e);
            }
        }
        if (set._documents.Count == 0) throw new InvalidDataException($"{path} holds no validation documents");
        set.IsComplete = true;
        return set;
    }

    /// <summary>Adds a held-out document unless the set is complete; a document needs two tokens to be scored.</summary>
    public bool TryAdd(ReadOnlySpan<int> tokens, string? domain)
    {
        if (IsComplete || tokens.Length < 2) return false;
        _documents.Add(new ValidationDocument(tokens.ToArray(), domain));
        if (_documents.Count >= capacity) IsComplete = true;
        return true;
    }

    /// <summary>Fixes the set as it is (when meta-em starts reading it, so a resumed run reads the same batches).</summary>
    public void Freeze() => IsComplete = true;

    /// <summary>Documents per domain (plus every document under "all" by <see cref="HeldOutLoss"/>), as token ids.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<IReadOnlyList<long>>> ByDomain() =>
        _documents.GroupBy(d => d.Domain ?? "(none)")
            .ToDictionary(g => g.Key, g => (IReadOnlyList<IReadOnlyList<long>>)g.Select(d => (IReadOnlyList<long>)Array.ConvertAll(d.Tokens, t => (long)t)).ToList());

    /// <summary>The documents as a sequence stream of length T (meta-em's validation batches).</summary>
    public TokenStream ToTokenStream(int endOfText, int sequenceLength, ulong seed) =>
        // TokenStream puts the separator after each document; one the scorer put first would otherwise come twice.
        new(_documents.Select(d => (IReadOnlyList<long>)Array.ConvertAll(d.Tokens[0] == endOfText ? d.Tokens[1..] : d.Tokens, t => (long)t)),
            endOfText, sequenceLength, seed);

    /// <summary>The checkpointed form.</summary>
    public ValidationState Save() => new(IsComplete, [.. _documents]);

    /// <summary>Restores what <see cref="Save"/> wrote.</summary>
    public void Load(ValidationState state)
    {
        _documents.Clear();
        _documents.AddRange(state.Documents);
        IsComplete = state.Complete || _documents.Count >= capacity;
    }
}

/// <summary>A validation set in a checkpoint.</summary>
public sealed record ValidationState(
    [property: JsonPropertyName("complete")] bool Complete,
    [property: JsonPropertyName("documents")] IReadOnlyList<ValidationDocument> Documents);
