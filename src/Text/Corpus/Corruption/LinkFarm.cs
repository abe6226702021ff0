using System.Globalization;
using System.Text;

namespace Reweighting.Text.Corpus.Corruption;

/// <summary>A link farm: one link per line, anchor text then a URL whose host, path slug and query are built from the
/// corpus's words, ids and tracking parameters.</summary>
/// <remarks>Scheme, separators and parameter names repeat, slugs and ids do not: a moderate mean with high variance.
/// Held out of tuning.</remarks>
public sealed class LinkFarm : NoiseFamily
{
    private static readonly string[] Anchors = ["Read more", "Click here", "Source", "Download", "Link", "More info", "»", "Visit site"];
    private static readonly string[] Domains = ["com", "net", "org", "info", "biz", "xyz", "io", "co.uk"];
    private static readonly string[] Parameters = ["utm_source", "utm_medium", "ref", "id", "sid", "page", "lang", "fbclid"];

    /// <inheritdoc />
    public override string Name => "link-farm";

    /// <inheritdoc />
    public override string Generate(NoiseInput input, Random random)
    {
        var text = new StringBuilder(input.TargetLength + 160);
        while (text.Length < input.TargetLength)
        {
            if (text.Length > 0) text.Append('\n');
            text.Append(Pick(Anchors, random)).Append(": ").Append(random.Next(3) == 0 ? "http" : "https").Append("://");
            if (random.Next(2) == 0) text.Append("www.");
            text.Append(Slug(input, random, 1, 3, "")).Append('.').Append(Pick(Domains, random));
            for (int i = 0, segments = random.Next(1, 4); i < segments; i++) text.Append('/').Append(Slug(input, random, 1, 5, "-"));
            if (random.Next(2) == 0)
                text.Append('-').Append(random.Next(1000, 999_999).ToString(CultureInfo.InvariantCulture)).Append(".html");
            for (int i = 0, query = random.Next(0, 4); i < query; i++)
                text.Append(i == 0 ? '?' : '&').Append(Pick(Parameters, random)).Append('=')
                    .Append(random.NextInt64().ToString("x", CultureInfo.InvariantCulture)[..random.Next(4, 12)]);
        }
        return text.ToString();
    }

    private static string Slug(NoiseInput input, Random random, int min, int max, string separator) =>
        string.Join(separator, Enumerable.Range(0, random.Next(min, max + 1))
            .Select(_ => new string(Pick(input.Vocabulary, random).ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).ToArray()))
            .Where(w => w.Length > 0).DefaultIfEmpty("page"));
}
