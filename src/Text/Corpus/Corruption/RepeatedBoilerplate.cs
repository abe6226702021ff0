using System.Text;

namespace Reweighting.Text.Corpus.Corruption;

/// <summary>One navigation, legal or cookie line repeated many times, as scraped page chrome often is.</summary>
/// <remarks>After the first copy every token is predictable from context, so the mean loss is very low.</remarks>
public sealed class RepeatedBoilerplate : NoiseFamily
{
    private static readonly string[] Lines =
    [
        "Click here to subscribe to our newsletter and never miss an update!",
        "Copyright © All rights reserved. Terms of Use | Privacy Policy | Cookie Settings",
        "This website uses cookies to improve your experience. Accept all cookies?",
        "Home | About Us | Products | Services | Blog | Contact",
        "Share this: Facebook Twitter LinkedIn Email Print",
        "Loading... please wait. If the page does not load, refresh your browser.",
        "Sign in to continue reading. Not a member yet? Register for free.",
        "Read more >> Read more >> Read more >>",
    ];

    /// <inheritdoc />
    public override string Name => "boilerplate";

    /// <inheritdoc />
    public override string Generate(NoiseInput input, Random random)
    {
        var line = Pick(Lines, random);
        var copies = Math.Max(5, input.TargetLength / (line.Length + 1));
        var text = new StringBuilder(copies * (line.Length + 1));
        for (var i = 0; i < copies; i++)
        {
            if (i > 0) text.Append('\n');
            text.Append(line);
        }
        return text.ToString();
    }
}
