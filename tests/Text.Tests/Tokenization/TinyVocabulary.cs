using Reweighting.Text.Tokenization;

namespace Reweighting.Text.Tests.Tokenization;

/// <summary>Hand-made byte-level vocabularies: the 256 byte tokens in GPT-2's order, then one token per merge.</summary>
internal static class TinyVocabulary
{
    public static Dictionary<string, int> Vocabulary(IEnumerable<(string Left, string Right)> merges, bool withEndOfText = true)
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var b in ByteLevelAlphabet.BaseVocabularyOrder.ToArray()) vocab[ByteLevelAlphabet.ToChar(b).ToString()] = vocab.Count;
        foreach (var (left, right) in merges) vocab.TryAdd(left + right, vocab.Count);
        if (withEndOfText) vocab[BpeTokenizer.EndOfText] = vocab.Count;
        return vocab;
    }

    public static (string, string)[] Merges(params string[] lines) =>
        lines.Select(l => l.Split(' ')).Select(p => (p[0], p[1])).ToArray();

    public static BpeTokenizer Build(params string[] merges)
    {
        var m = Merges(merges);
        return new BpeTokenizer(Vocabulary(m), m);
    }

    /// <summary>A tokenizer trained on a few paragraphs of English, for round trips with realistic merges.</summary>
    public static BpeTokenizer English { get; } = BpeTrainer.Train(EnglishText.Paragraphs, new BpeTrainerOptions(400, MinPairFrequency: 1));
}

internal static class EnglishText
{
    public static readonly string[] Paragraphs =
    [
        "The proxy model reads every document once and measures how surprised it is, token by token.",
        "Each document's token losses become two numbers: the mean and the variance of the loss.",
        "A Gaussian mixture over those points labels documents easy, hard or noisy. It's simple, isn't it?",
        "Stats and labels land in PostgreSQL, where people query them with plain SQL; they'll like that.",
        "The trainer consumes the scored batches and pretrains a larger model with per-sample weights.",
        "In 2024, 37 of the 120 runs diverged; we've re-run them with a lower learning rate (3e-4).",
        "Documents longer than the context are scored in windows, and the statistics aggregate all tokens.",
        "Hello world! Hello again, world. The world said hello back to the model, and the model listened.",
    ];
}
