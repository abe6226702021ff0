using Reweighting.Contracts.Batches;

namespace Reweighting.Trainer.Streaming;

/// <summary>A document's tokens rebuilt from its scored windows. The scorer cuts windows of context + 1 tokens starting
/// every context tokens, so each window repeats the previous window's last token as its first (the input of its first
/// prediction); joining windows must drop that repeat or training would see the token twice.</summary>
public static class DocumentTokens
{
    /// <summary>The windows joined, leaving out the first <paramref name="overlap"/> tokens of every window after the first.</summary>
    public static int[] Of(WindowedTokens windows, int overlap)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(overlap);
        var total = 0;
        for (var w = 0; w < windows.Count; w++) total += w == 0 ? windows[w].Length : Math.Max(0, windows[w].Length - overlap);
        var tokens = new int[total];
        var filled = 0;
        for (var w = 0; w < windows.Count; w++)
        {
            var window = windows[w];
            var part = w == 0 ? window : window[Math.Min(overlap, window.Length)..];
            part.CopyTo(tokens.AsSpan(filled));
            filled += part.Length;
        }
        return tokens;
    }
}
