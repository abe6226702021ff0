namespace Reweighting.Text.Corpus.Corruption;

/// <summary>The built-in noise families, by name.</summary>
public static class NoiseFamilies
{
    /// <summary>Every family, in a fixed order (the corruptor shuffles it with the seed before dealing documents).</summary>
    public static IReadOnlyList<NoiseFamily> All { get; } =
    [
        new CharacterGarbage(), new WordSalad(), new ShuffledText(), new EncodedBlob(),
        new RepeatedBoilerplate(), new Mojibake(), new MarkupJunk(), new LogDump(),
    ];

    /// <summary>The families with the given names, in the order given, or all of them when none are given.</summary>
    /// <exception cref="ArgumentException">A name is unknown or repeated.</exception>
    public static IReadOnlyList<NoiseFamily> Select(IEnumerable<string>? names)
    {
        var wanted = names?.Select(n => n.Trim()).Where(n => n.Length > 0).ToList() ?? [];
        if (wanted.Count == 0) return All;
        var chosen = new List<NoiseFamily>();
        foreach (var name in wanted)
        {
            var family = All.FirstOrDefault(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException($"unknown noise family '{name}' (known: {string.Join(", ", All.Select(f => f.Name))})");
            if (chosen.Contains(family)) throw new ArgumentException($"noise family '{family.Name}' is named twice");
            chosen.Add(family);
        }
        return chosen;
    }
}
