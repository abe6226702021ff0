namespace Reweighting.Text.Corpus.Corruption;

/// <summary>The built-in noise families, by name: the default set, and web-junk families held out of it.</summary>
public static class NoiseFamilies
{
    /// <summary>Every family, in a fixed order (the corruptor shuffles it with the seed before dealing documents).</summary>
    public static IReadOnlyList<NoiseFamily> All { get; } =
    [
        new CharacterGarbage(), new WordSalad(), new ShuffledText(), new EncodedBlob(),
        new RepeatedBoilerplate(), new Mojibake(), new MarkupJunk(), new LogDump(),
    ];

    /// <summary>Families of web junk that no setting was tuned on: never in the default set, chosen only by name, so an
    /// evaluation can report on noise its defaults have not seen.</summary>
    public static IReadOnlyList<NoiseFamily> HeldOut { get; } =
    [
        new KeywordStuffing(), new LinkFarm(), new SpamAdvert(), new JsonDump(),
    ];

    /// <summary>Every family there is: the default set, then the held-out one.</summary>
    public static IReadOnlyList<NoiseFamily> Known { get; } = [.. All, .. HeldOut];

    /// <summary>The families with the given names (default or held out), in the order given, or the default set when
    /// none are given.</summary>
    /// <exception cref="ArgumentException">A name is unknown or repeated.</exception>
    public static IReadOnlyList<NoiseFamily> Select(IEnumerable<string>? names)
    {
        var wanted = names?.Select(n => n.Trim()).Where(n => n.Length > 0).ToList() ?? [];
        if (wanted.Count == 0) return All;
        var chosen = new List<NoiseFamily>();
        foreach (var name in wanted)
        {
            var family = Known.FirstOrDefault(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException($"unknown noise family '{name}' (known: {string.Join(", ", Known.Select(f => f.Name))})");
            if (chosen.Contains(family)) throw new ArgumentException($"noise family '{family.Name}' is named twice");
            chosen.Add(family);
        }
        return chosen;
    }
}
