using System.Text;

namespace Reweighting.Text.Corpus;

/// <summary>Deterministic English-like text for benchmarks and tests where no real corpus ships with the repository.</summary>
/// <remarks>
/// Words follow a Zipf-like law over a few hundred common English words, with about one word in eight drawn from a
/// long tail of about 200,000 invented words, so a tokenizer's word cache sees both the frequent head and a rare
/// tail as it would on real prose. Sentences carry capitals, commas, contractions, numbers, quotes and paragraph
/// breaks. It is not real English; figures measured on it say so.
/// </remarks>
public static class SyntheticEnglish
{
    private static readonly string[] Common = (
        "the of and to a in is it you that he was for on are with as I his they be at one have this from or had by " +
        "word but what some we can out other were all there when up use your how said an each she which do their time " +
        "if will way about many then them write would like so these her long make thing see him two has look more day " +
        "could go come did number sound no most people my over know water than call first who may down side been now " +
        "find any new work part take get place made live where after back little only round man year came show every " +
        "good me give our under name very through just form sentence great think say help low line differ turn cause " +
        "much mean before move right boy old too same tell does set three want air well also play small end put home " +
        "read hand port large spell add even land here must big high such follow act why ask men change went light " +
        "kind off need house picture try us again animal point mother world near build self earth father model data " +
        "training loss document score weight batch token language research between system however during without " +
        "government company important because through although including development information different").Split(' ');

    private static readonly string[] Syllables =
        "ka ri to ben sel mor dan qui lex tor vin pha stro gen al op ur em cla nith zo bra fel dur ix ost han mel".Split(' ');

    private static readonly string[] Contractions = ["it's", "don't", "can't", "we're", "they've", "I'm", "she'll", "he'd", "isn't", "won't"];

    /// <summary>About <paramref name="bytes"/> bytes of UTF-8 text, identical for the same seed and size.</summary>
    public static string Generate(int bytes, int seed = 1)
    {
        var random = new Random(seed);
        var text = new StringBuilder(bytes + 256);
        while (text.Length < bytes)
        {
            var sentences = random.Next(2, 7);
            for (var s = 0; s < sentences; s++)
            {
                var words = random.Next(5, 25);
                for (var w = 0; w < words; w++)
                {
                    var word = NextWord(random);
                    if (w == 0) word = char.ToUpperInvariant(word[0]) + word[1..];
                    else text.Append(' ');
                    if (random.Next(40) == 0) text.Append('"').Append(word).Append('"');
                    else text.Append(word);
                    if (w < words - 1 && random.Next(12) == 0) text.Append(',');
                }
                text.Append(random.Next(10) switch { 0 => "?", 1 => "!", _ => "." });
                if (s < sentences - 1) text.Append(' ');
            }
            text.Append(random.Next(3) == 0 ? "\n\n" : "\n");
        }
        return text.ToString();
    }

    private static string NextWord(Random random)
    {
        var roll = random.Next(100);
        if (roll < 3) return Contractions[random.Next(Contractions.Length)];
        if (roll < 6) return random.Next(4) == 0 ? $"{random.Next(1900, 2030)}" : $"{random.Next(0, 1000)}";
        if (roll < 18)
        {
            // A long tail of invented words: seeded by one draw so the same word recurs with realistic rarity.
            var id = (int)(200_000 * Math.Pow(random.NextDouble(), 2));
            var local = new Random(id);
            var word = new StringBuilder();
            var syllables = 2 + local.Next(3);
            for (var i = 0; i < syllables; i++) word.Append(Syllables[local.Next(Syllables.Length)]);
            return word.ToString();
        }
        // Zipf-like over the common words: rank ~ exp(uniform) concentrates on the first few.
        var rank = (int)Math.Floor(Math.Exp(random.NextDouble() * Math.Log(Common.Length + 1))) - 1;
        return Common[Math.Clamp(rank, 0, Common.Length - 1)];
    }
}
