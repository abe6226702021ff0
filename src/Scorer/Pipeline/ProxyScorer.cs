using Reweighting.Contracts.Batches;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Scoring;
using Reweighting.Statistics;
using Reweighting.Text.Tokenization;
using Reweighting.Torch;

namespace Reweighting.Scorer.Pipeline;

/// <summary>One document as the proxy saw it: the statistics of its token losses (with the bytes of the scored tokens)
/// and the token windows the trainer gets (windows of the proxy's context plus one token, each overlapping the next by
/// one, so every prediction the statistics count appears in exactly one window).</summary>
public readonly record struct ProxyScore(LossStatistics Statistics, WindowedTokens Windows);

/// <summary>A micro-batch's token ids and its packed forward passes (<see cref="ProxyScorer.Prepare"/>).</summary>
public sealed record PreparedDocuments(IReadOnlyList<int[]> Documents, PackedDocuments Packed);

/// <summary>The proxy model and its tokenizer: tokenises documents and scores them without gradients (bfloat16
/// autocast on CUDA), long documents in windows of the context length.</summary>
public sealed class ProxyScorer : IDisposable
{
    private readonly GptModel _model;
    private readonly BpeTokenizer _tokenizer;
    private readonly DocumentScorer _scorer;
    private readonly int? _prefix;
    private readonly ScoringBatches _batches;

    /// <summary>Wraps a loaded model (which this takes over and disposes) and its tokenizer; windows are packed into
    /// forward passes as <paramref name="batches"/> says.</summary>
    public ProxyScorer(GptModel model, BpeTokenizer tokenizer, Device device, ScoringBatches batches, bool prependEndOfText)
    {
        batches.Validate();
        if (tokenizer.VocabSize > model.Config.VocabSize)
            throw new ArgumentException($"the tokenizer has {tokenizer.VocabSize} ids but the model only {model.Config.VocabSize}");
        _model = model;
        _tokenizer = tokenizer;
        Device = device;
        _scorer = new DocumentScorer(model, device, batches);
        _batches = batches;
        _prefix = prependEndOfText && tokenizer.SpecialTokens.TryGetValue(BpeTokenizer.EndOfText, out var eot) ? eot : null;
    }

    /// <summary>Loads the checkpoint in <paramref name="directory"/> (model and tokenizer) onto <paramref name="device"/>.</summary>
    public static ProxyScorer Load(string directory, Device device, ScoringBatches batches, bool prependEndOfText)
    {
        var tokenizer = BpeTokenizer.Load(directory);
        var model = Checkpoint.LoadModel(directory, device);
        try
        {
            return new ProxyScorer(model, tokenizer, device, batches, prependEndOfText);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>A scorer of the same tokenizer, device and batching on another model with this vocabulary (which the
    /// new scorer takes over and disposes): a cross-fitted fold copy of the proxy.</summary>
    public ProxyScorer WithModel(GptModel model)
    {
        if (model.Config.VocabSize != _model.Config.VocabSize)
            throw new ArgumentException(
                $"the model's vocabulary ({model.Config.VocabSize}) is not the proxy's ({_model.Config.VocabSize})");
        return new ProxyScorer(model, _tokenizer, Device, _batches, _prefix is not null);
    }

    /// <summary>Where the model runs.</summary>
    public Device Device { get; }

    /// <summary>Forward passes, windows and padding of everything scored so far.</summary>
    public ScoringStatistics Statistics => _scorer.Statistics;

    /// <summary>The model's context length.</summary>
    public int ContextLength => _model.Config.ContextLength;

    /// <summary>The token ids of a document's text (after <c>&lt;|endoftext|&gt;</c> when configured).</summary>
    public int[] Tokenise(string text)
    {
        if (_prefix is not { } eot) return _tokenizer.Encode(text);
        var ids = new List<int>(text.Length / 3 + 2) { eot };
        _tokenizer.Encode(text, ids);
        return [.. ids];
    }

    /// <summary>Scores tokenised documents; results are in input order.</summary>
    public ProxyScore[] Score(IReadOnlyList<int[]> documents)
    {
        var prepared = Prepare(documents);
        return Finish(prepared, Run(prepared));
    }

    /// <summary>Plans and packs the forward passes of a micro-batch without touching the model: the scorer service
    /// calls it on its loop thread, so the next batch is packed while the proxy computes the current one.</summary>
    public PreparedDocuments Prepare(IReadOnlyList<int[]> documents) =>
        new(documents, _scorer.Pack(documents.Select(d => (IReadOnlyList<long>)Array.ConvertAll(d, t => (long)t)).ToList()));

    /// <summary>The forward passes of a prepared micro-batch (the proxy's thread only): each document's token losses.</summary>
    public float[][] Run(PreparedDocuments prepared) => _scorer.Run(prepared.Packed);

    /// <summary>Each document's statistics and trainer windows from its losses, in input order; needs no model.</summary>
    public ProxyScore[] Finish(PreparedDocuments prepared, float[][] losses)
    {
        var results = new ProxyScore[prepared.Documents.Count];
        for (var i = 0; i < results.Length; i++)
        {
            var tokens = prepared.Documents[i];
            results[i] = new ProxyScore(LossStatistics.Of(losses[i], ScoredBytes(tokens)), Windows(tokens));
        }
        return results;
    }

    /// <summary>The UTF-8 bytes of the tokens the losses predict: every token but the first (the end-of-text prefix,
    /// when configured, so then exactly the text's bytes).</summary>
    private long ScoredBytes(int[] tokens) => tokens.Length < 2 ? 0 : _tokenizer.CountBytes(tokens.AsSpan(1));

    /// <summary>Windows of context + 1 tokens starting every context tokens: window w holds inputs
    /// tokens[wC .. wC + C) and the target of its last position.</summary>
    private WindowedTokens Windows(int[] tokens)
    {
        var context = ContextLength;
        var predictions = tokens.Length - 1;
        if (predictions < 1) return WindowedTokens.Empty;
        var count = (predictions + context - 1) / context;
        var offsets = new int[count + 1];
        var flat = new int[predictions + count];
        var filled = 0;
        for (var w = 0; w < count; w++)
        {
            var start = w * context;
            var length = Math.Min(context, predictions - start) + 1;
            tokens.AsSpan(start, length).CopyTo(flat.AsSpan(filled));
            filled += length;
            offsets[w + 1] = filled;
        }
        return new WindowedTokens(flat, offsets);
    }

    public void Dispose() => _model.Dispose();
}
