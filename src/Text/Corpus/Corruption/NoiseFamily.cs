namespace Reweighting.Text.Corpus.Corruption;

/// <summary>What a noise family may draw on: the document being replaced and words sampled from the whole corpus.</summary>
/// <param name="Original">The clean text the noisy one replaces.</param>
/// <param name="Vocabulary">Distinct words of the input corpus, in first-seen order.</param>
/// <param name="TargetLength">About how many characters the noisy text should have.</param>
public sealed record NoiseInput(string Original, IReadOnlyList<string> Vocabulary, int TargetLength);

/// <summary>One kind of junk document, generated deterministically from a seeded random source.</summary>
/// <remarks>
/// Each family aims at a different signature in a language model's per-token loss: garbage and word salad raise the
/// mean, boilerplate lowers it, encoded blobs and dumps give long stretches of uniform surprise, mojibake and
/// markup mix normal and very surprising tokens (high variance).
/// </remarks>
public abstract class NoiseFamily
{
    /// <summary>The name written as <c>noise_type</c> and accepted by <c>--families</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Makes one noisy text; the same input and random state give the same text.</summary>
    public abstract string Generate(NoiseInput input, Random random);

    /// <summary>Whitespace-separated words with surrounding punctuation trimmed; empty pieces dropped.</summary>
    public static IEnumerable<string> Words(string text)
    {
        foreach (var piece in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            var word = piece.Trim(WordPunctuation);
            if (word.Length > 0) yield return word;
        }
    }

    internal static readonly char[] WordPunctuation = ".,;:!?\"'()[]{}«»“”‘’".ToCharArray();

    internal static T Pick<T>(IReadOnlyList<T> items, Random random) => items[random.Next(items.Count)];
}
