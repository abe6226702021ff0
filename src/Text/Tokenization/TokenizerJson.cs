using System.Text.Json;

namespace Reweighting.Text.Tokenization;

/// <summary>JSON helpers shared by the tokenizer file readers: parse with file-and-position errors, read a vocabulary object.</summary>
internal static class TokenizerJson
{
    public static JsonDocument Parse(string path)
    {
        if (!File.Exists(path)) throw new TokenizerFormatException(path, "file not found");
        try
        {
            using var stream = File.OpenRead(path);
            return JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException(path, $"not valid JSON (truncated or corrupt?) at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}", e);
        }
    }

    public static Dictionary<string, int> ReadVocabulary(string path, JsonElement vocab)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id) || id < 0)
                throw new TokenizerFormatException(path, $"token \"{entry.Name}\" has id {entry.Value.GetRawText()}, expected a non-negative integer");
            if (!result.TryAdd(entry.Name, id)) throw new TokenizerFormatException(path, $"token \"{entry.Name}\" appears twice");
        }
        if (result.Count == 0) throw new TokenizerFormatException(path, "the vocabulary is empty");
        return result;
    }
}
