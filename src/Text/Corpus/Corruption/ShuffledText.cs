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
        var original = input.Original.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        // A document whose words are all equal cannot be reordered; words from the vocabulary keep it noisy.
        if (original.Distinct(StringComparer.Ordinal).Count() < 2)
            return string.Join(' ', Enumerable.Range(0, 16).Select(_ => Pick(input.Vocabulary, random)));
        var words = (string[])original.Clone();
        random.Shuffle(words);
        // Short documents can shuffle back into their own order; a rotation by one then differs, as two words differ.
        if (words.SequenceEqual(original, StringComparer.Ordinal)) words = [.. words[1..], words[0]];
        return string.Join(' ', words);
    }
}
