using System.Text;

namespace Reweighting.Text.Corpus.Corruption;

/// <summary>The document with accents and typographic quotes added, then its UTF-8 bytes misread as Windows-1252.</summary>
/// <remarks>
/// "café" becomes "cafÃ©" and "it’s" becomes "itâ€™s": most of the text stays readable and cheap to predict while
/// the broken sequences are very surprising, so the variance of the loss rises more than its mean.
/// </remarks>
public sealed class Mojibake : NoiseFamily
{
    private const double AccentProbability = 0.3;

    // Windows-1252 differs from Latin-1 only in 0x80-0x9F; undefined bytes show as the replacement character.
    private const string Cp1252High = "€\uFFFD‚ƒ„…†‡ˆ‰Š‹Œ\uFFFDŽ\uFFFD\uFFFD‘’“”•–—˜™š›œ\uFFFDžŸ";

    private static readonly Dictionary<char, string> Accents = new()
    {
        ['a'] = "áàäâ", ['e'] = "éèêë", ['i'] = "íï", ['o'] = "óöô", ['u'] = "úü", ['c'] = "ç", ['n'] = "ñ",
        ['\''] = "’", ['"'] = "“”", ['-'] = "–—",
    };

    /// <inheritdoc />
    public override string Name => "mojibake";

    /// <inheritdoc />
    public override string Generate(NoiseInput input, Random random)
    {
        var accented = new StringBuilder(input.Original.Length);
        var changed = 0;
        foreach (var c in input.Original)
        {
            if (Accents.TryGetValue(c, out var options) && random.NextDouble() < AccentProbability)
            {
                accented.Append(options[random.Next(options.Length)]);
                changed++;
            }
            else accented.Append(c);
        }
        // A document with nothing to accent still has to show the damage.
        if (changed == 0) accented.Append(" – café’s résumé");
        return MisreadAsCp1252(Encoding.UTF8.GetBytes(accented.ToString()));
    }

    /// <summary>Decodes bytes as Windows-1252 would, without needing the code-pages provider.</summary>
    internal static string MisreadAsCp1252(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
            text.Append(b is >= 0x80 and <= 0x9F ? Cp1252High[b - 0x80] : (char)b);
        return text.ToString();
    }
}
