using System.Text;

namespace Reweighting.Text.Corpus;

/// <summary>The project's own deterministic sample corpus for the embedded demo and tests: four domains with their
/// own structure (prose, code, how-to guides, dialogue), so a proxy learns something per domain and the loss
/// statistics differ between them. Noise is injected afterwards by <see cref="Corruption.CorpusCorruptor"/>.
/// The same (documents, seed) always gives the same records.</summary>
public static class SampleCorpus
{
    public static readonly IReadOnlyList<string> Domains = ["prose", "code", "howto", "dialogue"];

    /// <summary><paramref name="documents"/> records, ids <c>{domain}-{n}</c>, domains in rotation.</summary>
    public static IEnumerable<CorpusRecord> Generate(int documents, int seed = 1)
    {
        if (documents < 1) throw new ArgumentOutOfRangeException(nameof(documents), "a sample corpus needs at least one document");
        for (var i = 0; i < documents; i++)
        {
            var domain = Domains[i % Domains.Count];
            var random = new Random(unchecked(seed * 1_000_003 + i * 7919 + 17)); // per-document stream (HashCode is per-process random)
            var text = domain switch
            {
                "prose" => SyntheticEnglish.Generate(600 + random.Next(2400), random.Next()),
                "code" => Code(random),
                "howto" => HowTo(random),
                _ => Dialogue(random),
            };
            yield return new CorpusRecord($"{domain}-{i / Domains.Count}", text, domain, "sample");
        }
    }

    private static readonly string[] Nouns = ["batch", "token", "weight", "score", "model", "layer", "value", "item", "node", "record", "buffer", "window"];
    private static readonly string[] Verbs = ["load", "parse", "merge", "score", "update", "filter", "encode", "split", "count", "check"];

    private static string Code(Random r)
    {
        var text = new StringBuilder();
        var functions = 2 + r.Next(5);
        for (var f = 0; f < functions; f++)
        {
            string verb = Verbs[r.Next(Verbs.Length)], noun = Nouns[r.Next(Nouns.Length)], arg = Nouns[r.Next(Nouns.Length)];
            text.Append($"def {verb}_{noun}s({arg}s, limit={r.Next(1, 100)}):\n");
            text.Append($"    \"\"\"{char.ToUpperInvariant(verb[0])}{verb[1..]} the {noun}s of every {arg}.\"\"\"\n");
            text.Append($"    result = []\n");
            text.Append($"    for i, {arg} in enumerate({arg}s):\n");
            var body = 1 + r.Next(4);
            for (var b = 0; b < body; b++)
            {
                var other = Nouns[r.Next(Nouns.Length)];
                text.Append(r.Next(3) switch
                {
                    0 => $"        if {arg}.{other} > limit:\n            continue\n",
                    1 => $"        {other} = {Verbs[r.Next(Verbs.Length)]}({arg}, {r.Next(10)})\n",
                    _ => $"        result.append({arg}.{other} * {r.Next(2, 9)})\n",
                });
            }
            text.Append("    return result\n\n\n");
        }
        return text.ToString();
    }

    private static readonly string[] Tools = ["a knife", "a pan", "a bowl", "a drill", "a brush", "a ladder", "a wrench", "a towel"];
    private static readonly string[] Materials = ["flour", "water", "paint", "screws", "oil", "salt", "glue", "sand", "rice", "tape"];

    private static string HowTo(Random r)
    {
        var text = new StringBuilder();
        var material = Materials[r.Next(Materials.Length)];
        text.Append($"How to {Verbs[r.Next(Verbs.Length)]} the {Nouns[r.Next(Nouns.Length)]} with {material}\n\n");
        text.Append("You will need:\n");
        var needs = 2 + r.Next(4);
        for (var n = 0; n < needs; n++) text.Append($"- {r.Next(1, 12) * 50} g of {Materials[r.Next(Materials.Length)]}\n");
        text.Append($"- {Tools[r.Next(Tools.Length)]}\n\nSteps:\n");
        var steps = 4 + r.Next(8);
        for (var s = 1; s <= steps; s++)
            text.Append($"{s}. {(r.Next(2) == 0 ? "Take" : "Use")} {Tools[r.Next(Tools.Length)]} and {Verbs[r.Next(Verbs.Length)]} the {Materials[r.Next(Materials.Length)]} " +
                        $"for {r.Next(1, 30)} minutes{(r.Next(3) == 0 ? ", then let it rest" : "")}.\n");
        text.Append($"\nTip: {SyntheticEnglish.Generate(120, r.Next()).Trim()}\n");
        return text.ToString();
    }

    private static readonly string[] Names = ["Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana"];

    private static string Dialogue(Random r)
    {
        var text = new StringBuilder();
        string a = Names[r.Next(Names.Length)], b = Names[r.Next(Names.Length)];
        var turns = 4 + r.Next(12);
        for (var t = 0; t < turns; t++)
        {
            var speaker = t % 2 == 0 ? a : b;
            var line = SyntheticEnglish.Generate(40 + r.Next(160), r.Next()).Replace('\n', ' ').Trim();
            text.Append($"{speaker}: {(t % 2 == 0 && r.Next(2) == 0 ? "Do you know why the " + Nouns[r.Next(Nouns.Length)] + " changed? " : "")}{line}\n");
        }
        return text.ToString();
    }
}
