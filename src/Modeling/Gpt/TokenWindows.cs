namespace Reweighting.Modeling.Gpt;

/// <summary>One model input cut from a document: <see cref="Inputs"/> are fed to the model and
/// <see cref="Targets"/> hold the next token where that position is scored, else <see cref="GptModel.IgnoreIndex"/>.
/// <see cref="Start"/> is where the window begins in its document, so position i predicts the document's token
/// Start + i + 1 whatever order windows are scored in.</summary>
public sealed record TokenWindow(int Document, long[] Inputs, long[] Targets, int Start = 0)
{
    /// <summary>Positions of this window whose loss counts.</summary>
    public int ScoredCount => Targets.Count(t => t != GptModel.IgnoreIndex);
}

/// <summary>Cuts token sequences into windows of at most the context length so that every next-token
/// prediction of a document is scored exactly once. The first window scores all its positions; each later
/// window starts <c>stride</c> tokens after the previous one and scores only the positions not scored yet,
/// so those predictions see up to <c>context − stride</c> tokens of earlier text.</summary>
public static class TokenWindows
{
    public static IEnumerable<TokenWindow> Plan(IReadOnlyList<long> tokens, int context, int stride, int document = 0)
    {
        if (context < 1) throw new ArgumentOutOfRangeException(nameof(context), context, "must be positive");
        if (stride < 1 || stride > context) throw new ArgumentOutOfRangeException(nameof(stride), stride, $"must be in [1, {context}]");
        var predictions = tokens.Count - 1; // token i+1 predicted from tokens ≤ i
        if (predictions < 1) yield break;
        var scoredUpTo = 0; // predictions [0, scoredUpTo) are done
        for (var start = 0; scoredUpTo < predictions; start += stride)
        {
            var length = Math.Min(context, predictions - start);
            var inputs = new long[length];
            var targets = new long[length];
            for (var i = 0; i < length; i++)
            {
                inputs[i] = tokens[start + i];
                var prediction = start + i;
                targets[i] = prediction >= scoredUpTo ? tokens[prediction + 1] : GptModel.IgnoreIndex;
            }
            scoredUpTo = start + length;
            yield return new TokenWindow(document, inputs, targets, start);
        }
    }

    /// <summary>Pads windows to a common length into (B, T) input and target arrays, row-major.</summary>
    public static (long[] Inputs, long[] Targets, int Length) Pack(IReadOnlyList<TokenWindow> windows, long padToken = 0)
    {
        var length = windows.Max(w => w.Inputs.Length);
        var inputs = new long[windows.Count * length];
        var targets = new long[windows.Count * length];
        Array.Fill(inputs, padToken);
        Array.Fill(targets, GptModel.IgnoreIndex);
        for (var b = 0; b < windows.Count; b++)
        {
            windows[b].Inputs.CopyTo(inputs, b * length);
            windows[b].Targets.CopyTo(targets, b * length);
        }
        return (inputs, targets, length);
    }
}
