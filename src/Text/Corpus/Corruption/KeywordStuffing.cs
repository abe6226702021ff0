using System.Text;

namespace Reweighting.Text.Corpus.Corruption;

/// <summary>Search-engine spam: a handful of the corpus's words stuffed into query-like phrases ("best x y", "cheap x
/// near me", "x 2023 free download") joined by commas and pipes, over and over.</summary>
/// <remarks>The keyword set is small and the templates repeat, so after the first lines the text is predictable in
/// places and odd in its word order: a lowish mean that a per-token model may call easy. Held out of tuning.</remarks>
public sealed class KeywordStuffing : NoiseFamily
{
    private static readonly string[] Templates =
    [
        "best {0} {1}", "cheap {0}", "{0} near me", "buy {0} online", "{0} {1} {2}", "{0} 2023 free download",
        "top 10 {0}", "{0} vs {1}", "how to {0} {1}", "{0} price", "{0} reviews", "official {0} {1} site",
    ];

    /// <inheritdoc />
    public override string Name => "keyword-stuffing";

    /// <inheritdoc />
    public override string Generate(NoiseInput input, Random random)
    {
        var keywords = Enumerable.Range(0, random.Next(3, 7)).Select(_ => Pick(input.Vocabulary, random).ToLowerInvariant()).ToArray();
        var text = new StringBuilder(input.TargetLength + 64);
        while (text.Length < input.TargetLength)
        {
            if (text.Length > 0) text.Append(random.Next(4) == 0 ? " | " : ", ");
            text.AppendFormat(Pick(Templates, random), Pick(keywords, random), Pick(keywords, random), Pick(keywords, random));
        }
        return text.ToString();
    }
}
