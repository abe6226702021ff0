using System.IO.Compression;
using System.Text.Json;

namespace Reweighting.Text.Corpus;

/// <summary>A document's ground truth in a labelled corpus (as <see cref="Corruption.CorpusCorruptor"/> writes it).</summary>
/// <param name="Noisy">Whether the record's <c>label</c> is <c>noisy</c> (else <c>clean</c>).</param>
/// <param name="NoiseType">The record's <c>noise_type</c>, when it names one.</param>
public sealed record CorpusLabel(bool Noisy, string? NoiseType);

/// <summary>Reads the clean/noisy ground truth of a labelled JSONL(.gz) corpus: records with <c>"label": clean|noisy</c>
/// and an optional <c>"noise_type"</c>.</summary>
public static class CorpusLabels
{
    /// <summary>id → label of every record with a valid label; records without one (or malformed lines) are skipped.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">No record carries a valid label.</exception>
    public static Dictionary<string, CorpusLabel> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"corpus {path} does not exist");
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(stream);
        var result = new Dictionary<string, CorpusLabel>();
        while (reader.ReadLine() is { } line)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                var root = JsonDocument.Parse(line).RootElement;
                if (!root.TryGetProperty("id", out var id) || !root.TryGetProperty("label", out var label)) continue;
                var noisy = label.GetString() switch { "noisy" => true, "clean" => false, _ => (bool?)null };
                if (noisy is null) continue;
                var type = root.TryGetProperty("noise_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                result[id.ValueKind == JsonValueKind.String ? id.GetString()! : id.GetRawText()] = new CorpusLabel(noisy.Value, type);
            }
            catch (JsonException)
            {
                // The corpus reader reports malformed lines with their position; here they simply carry no label.
            }
        }
        if (result.Count == 0) throw new InvalidDataException($"{path} has no records with \"label\": clean|noisy (make one with `reweight corpus corrupt`)");
        return result;
    }
}
