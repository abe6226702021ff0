using System.Text;

namespace Reweighting.Text.Corpus.Corruption;

/// <summary>Nested HTML tags with generated class names, inline styles and minified script, around a few stray words.</summary>
/// <remarks>Tag syntax is cheap to predict and generated identifiers are not: a mixed, high-variance loss profile.</remarks>
public sealed class MarkupJunk : NoiseFamily
{
    private static readonly string[] Tags = ["div", "span", "a", "li", "ul", "td", "tr", "p", "section", "button"];
    private static readonly string[] Scripts =
    [
        "<script>var _0x{0}=function(a,b){{return a^b}};window.dataLayer=window.dataLayer||[];</script>",
        "<script type=\"text/javascript\">!function(e,t){{e.q=e.q||[];e.q.push(['{0}',t])}}(window,{1});</script>",
        "<style>.c-{0}{{margin:0 {1}px;display:flex}}.c-{0}>a{{color:#{0}}}</style>",
        "<!-- generated {0} {1} -->",
    ];

    /// <inheritdoc />
    public override string Name => "markup-junk";

    /// <inheritdoc />
    public override string Generate(NoiseInput input, Random random)
    {
        var text = new StringBuilder(input.TargetLength + 256);
        var open = new Stack<string>();
        while (text.Length < input.TargetLength || open.Count > 0)
        {
            var roll = random.Next(10);
            if (text.Length < input.TargetLength && (roll < 4 || open.Count == 0) && open.Count < 8)
            {
                var tag = Pick(Tags, random);
                text.Append('<').Append(tag).Append(" class=\"").Append(Identifier(random)).Append(' ').Append(Identifier(random)).Append('"');
                if (random.Next(3) == 0) text.Append(" style=\"padding:").Append(random.Next(40)).Append("px\"");
                if (tag == "a") text.Append(" href=\"/").Append(Identifier(random)).Append("?ref=").Append(random.Next(100000)).Append('"');
                text.Append('>');
                open.Push(tag);
            }
            else if (text.Length < input.TargetLength && roll < 6)
            {
                text.Append(string.Format(Pick(Scripts, random), random.Next(0x100000, 0xFFFFFF).ToString("x6"), random.Next(1, 99)));
            }
            else if (text.Length < input.TargetLength && roll < 7 && input.Vocabulary.Count > 0)
            {
                text.Append(Pick(input.Vocabulary, random)).Append("&nbsp;");
            }
            else
            {
                text.Append("</").Append(open.Pop()).Append('>');
                if (random.Next(4) == 0) text.Append('\n');
            }
        }
        return text.ToString().TrimEnd();
    }

    private static string Identifier(Random random) => $"{(char)('a' + random.Next(26))}{random.Next(0x1000, 0xFFFF):x4}";
}
