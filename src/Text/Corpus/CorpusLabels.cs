namespace Reweighting.Text.Corpus;

/// <summary>A document's ground truth in a labelled corpus (as <see cref="Corruption.CorpusCorruptor"/> writes it).</summary>
/// <param name="Noisy">Whether the record's <c>label</c> is <c>noisy</c> (else <c>clean</c>).</param>
/// <param name="NoiseType">The record's <c>noise_type</c>, when it names one.</param>
public sealed record CorpusLabel(bool Noisy, string? NoiseType);

/// <summary>Reads the clean/noisy ground truth of a labelled corpus (any format <see cref="CorpusReader"/> reads): records
/// with <c>"label": clean|noisy</c> and an optional <c>"noise_type"</c>.</summary>
public static class CorpusLabels
{
    /// <summary>id → label of every record with a valid label, ids as the corpus reader gives them; records without one
    /// (or that the reader skips, which it reports when the corpus itself is read) are passed over.</summary>
    /// <exception cref="FileNotFoundException">The corpus does not exist.</exception>
    /// <exception cref="InvalidDataException">No record carries a valid label.</exception>
    public static Dictionary<string, CorpusLabel> Read(string path, CorpusReaderOptions? options = null)
    {
        if (!CorpusReader.Exists(path)) throw new FileNotFoundException($"corpus {path} does not exist");
        var fields = (options ?? CorpusReaderOptions.Default) with { ExtraFields = ["label", "noise_type"], KeepJson = false };
        var reader = new CorpusReader(fields);
        var result = new Dictionary<string, CorpusLabel>();
        foreach (var record in reader.Read(path))
        {
            if (record.Fields is not { } values || !values.TryGetValue("label", out var label)) continue;
            var noisy = label switch { "noisy" => true, "clean" => false, _ => (bool?)null };
            if (noisy is null) continue;
            result[record.Id] = new CorpusLabel(noisy.Value, values.GetValueOrDefault("noise_type"));
        }
        if (result.Count == 0)
            throw new InvalidDataException($"{path} has no records with \"label\": clean|noisy (make one with `reweight corpus corrupt`)");
        return result;
    }
}
