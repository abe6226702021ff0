namespace Reweighting.Text.Corpus.Corruption;

/// <summary>The document's own words in a random order (line breaks dropped).</summary>
/// <remarks>
/// Same words, same unigram statistics, no syntax: the mean loss rises above the original's while the vocabulary
/// stays in-domain, the hardest family for a unigram-style filter.
/// </remarks>
public sealed class ShuffledText : NoiseFamily
{
    /// <inheritdoc />
    public override string Name => "shuffled-text";

    /// <inheritdoc />
    public override string Generate(NoiseInput input, Random random)
    {
        var words = input.Original.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        random.Shuffle(words);
        // A one-word document (or one whose words are all equal) cannot be reordered; swapping in vocabulary keeps it noisy.
        if (words.Length < 2 && input.Vocabulary.Count > 0)
            words = Enumerable.Range(0, 16).Select(_ => Pick(input.Vocabulary, random)).ToArray();
        return string.Join(' ', words);
    }
}
