using Reweighting.Text.Tokenization;

namespace Reweighting.Cli.Commands;

/// <summary>What the CLI's scoring commands (`lm score`, `eval noise-detection --model`) count beside a document's losses.</summary>
internal static class ScoredDocuments
{
    /// <summary>The UTF-8 bytes of the tokens a document's losses predict: every token but the first, as the scorer
    /// service counts them (it prefixes end-of-text, so there they are all of the text's bytes; these commands do not,
    /// so the first token's bytes are left out).</summary>
    public static long Bytes(BpeTokenizer tokenizer, int[] tokens) => tokens.Length < 2 ? 0 : tokenizer.CountBytes(tokens.AsSpan(1));
}
