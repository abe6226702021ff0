namespace Reweighting.Modeling.Gpt;

/// <summary>Floating-point operations per token of a GPT, counted as the PaLM paper (appendix B) and nanoGPT count them
/// for model FLOPs utilisation: a matrix product of (m×k)(k×n) is 2mkn, every weight that multiplies an activation does 2
/// FLOPs per token forward and 4 backward, and attention adds 2·2·L·T·d forward (scores and weighted values over the
/// full T×T, masked half included). Position embeddings are looked up, not multiplied, so they are left out; the token
/// embedding counts once, as the tied output projection.</summary>
public static class ModelFlops
{
    /// <summary>Parameters that multiply activations: every parameter but the position embeddings.</summary>
    public static long MatmulParameters(GptConfig c)
    {
        long d = c.Embedding;
        var perBlock = 12 * d * d + 13 * d; // c_attn 3d²+3d, attn proj d²+d, fc 4d²+4d, mlp proj 4d²+d, two norms 4d
        return (long)c.VocabSize * d + c.Layers * perBlock + 2 * d;
    }

    /// <summary>Forward FLOPs per token for sequences of <paramref name="sequence"/> tokens: 2N + 4·L·T·d.</summary>
    public static double ForwardPerToken(GptConfig c, int sequence) =>
        2.0 * MatmulParameters(c) + 4.0 * c.Layers * sequence * c.Embedding;

    /// <summary>Training FLOPs per token (forward and backward, no recomputation): 6N + 12·L·T·d.</summary>
    public static double TrainingPerToken(GptConfig c, int sequence) => 3 * ForwardPerToken(c, sequence);
}
