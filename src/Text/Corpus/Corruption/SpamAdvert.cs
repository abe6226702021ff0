using System.Globalization;
using System.Text;

namespace Reweighting.Text.Corpus.Corruption;

/// <summary>Promotional spam: shouted offers with prices, percentages, phone numbers, star ratings and exclamation
/// marks, each about one of the corpus's words.</summary>
/// <remarks>Upper-case runs and symbols split into many short tokens while the templates repeat: mixed losses, and per
/// token it can look easier than it is per byte. Held out of tuning.</remarks>
public sealed class SpamAdvert : NoiseFamily
{
    private static readonly string[] Offers =
    [
        "LIMITED OFFER!!! Get {0}% OFF {1} today only - just ${2}.99!!!",
        "*** {1} *** BEST PRICE GUARANTEED *** ORDER NOW ***",
        "Call now: +1 ({3}) {4}-{5} for your FREE {1} sample!!",
        "★★★★★ \"{1} changed my life\" - verified buyer ★★★★★",
        "WIN a brand new {1}!!! Enter code {6} at checkout >>>",
        "Only {7} left in stock! {1} {0}% cheaper than anywhere else!!",
        "Work from home and earn ${2},000 a week selling {1}!!! -> click the link below <-",
    ];

    /// <inheritdoc />
    public override string Name => "spam-ad";

    /// <inheritdoc />
    public override string Generate(NoiseInput input, Random random)
    {
        var text = new StringBuilder(input.TargetLength + 128);
        while (text.Length < input.TargetLength)
        {
            if (text.Length > 0) text.Append(random.Next(3) == 0 ? "\n" : " ");
            var word = Pick(input.Vocabulary, random);
            text.AppendFormat(CultureInfo.InvariantCulture, Pick(Offers, random), random.Next(10, 91),
                random.Next(2) == 0 ? word.ToUpperInvariant() : word, random.Next(1, 500), random.Next(200, 999), random.Next(200, 999),
                random.Next(1000, 9999), random.NextInt64().ToString("X8", CultureInfo.InvariantCulture)[..8], random.Next(2, 20));
        }
        return text.ToString();
    }
}
