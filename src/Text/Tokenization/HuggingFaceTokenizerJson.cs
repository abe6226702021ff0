using Reweighting.Text.IO;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Reweighting.Text.Tokenization;

/// <summary>Hugging Face's tokenizer.json for a byte-level BPE model (GPT-2's layout): model.vocab, model.merges, added_tokens.</summary>
/// <remarks>
/// Merges may be "left right" strings or ["left", "right"] pairs (newer files). Files whose normaliser, pre-tokeniser
/// or model would encode differently from GPT-2 (a non-BPE model, a normaliser, a pre-tokeniser other than ByteLevel,
/// add_prefix_space) are refused rather than silently encoded the GPT-2 way.
/// </remarks>
public static class HuggingFaceTokenizerJson
{
    /// <summary>Reads a tokenizer from a tokenizer.json file.</summary>
    /// <exception cref="TokenizerFormatException">The file is missing, truncated, inconsistent or not a byte-level BPE tokenizer.</exception>
    public static BpeTokenizer Read(string path)
    {
        using var document = TokenizerJson.Parse(path);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new TokenizerFormatException(path, "expected a JSON object");
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new TokenizerFormatException(path, "no \"model\" object");
        if (model.TryGetProperty("type", out var type) && type.GetString() != "BPE")
            throw new TokenizerFormatException(path, $"model.type is \"{type}\"; only \"BPE\" is supported");
        CheckCompatible(path, root);

        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw new TokenizerFormatException(path, "no model.vocab object");
        var vocabulary = TokenizerJson.ReadVocabulary(path, vocab);

        var merges = new List<(string, string)>();
        if (model.TryGetProperty("merges", out var mergeArray))
        {
            if (mergeArray.ValueKind != JsonValueKind.Array) throw new TokenizerFormatException(path, "model.merges is not an array");
            var index = 0;
            foreach (var merge in mergeArray.EnumerateArray())
            {
                index++;
                merges.Add(ReadMerge(path, index, merge));
            }
        }

        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in added.EnumerateArray())
            {
                if (!token.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String
                    || !token.TryGetProperty("id", out var id) || !id.TryGetInt32(out var tokenId))
                    throw new TokenizerFormatException(path, $"an added_tokens entry lacks a string \"content\" or an integer \"id\": {token.GetRawText()}");
                specials[content.GetString()!] = tokenId;
            }
        }

        try
        {
            return new BpeTokenizer(vocabulary, merges, specials);
        }
        catch (ArgumentException e)
        {
            throw new TokenizerFormatException(path, e.Message, e);
        }
    }

    /// <summary>Writes a tokenizer.json in Hugging Face's GPT-2 layout, readable by the tokenizers library.</summary>
    public static void Write(BpeTokenizer tokenizer, string path)
    {
        AtomicFile.Write(path, stream =>
        {
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true });
            json.WriteStartObject();
            json.WriteString("version", "1.0");
            json.WriteNull("truncation");
            json.WriteNull("padding");
            json.WriteStartArray("added_tokens");
            foreach (var (content, id) in tokenizer.SpecialTokens.OrderBy(p => p.Value))
            {
                json.WriteStartObject();
                json.WriteNumber("id", id);
                json.WriteString("content", content);
                json.WriteBoolean("single_word", false);
                json.WriteBoolean("lstrip", false);
                json.WriteBoolean("rstrip", false);
                json.WriteBoolean("normalized", true);
                json.WriteBoolean("special", true);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteNull("normalizer");
            WriteByteLevel(json, "pre_tokenizer", addPrefixSpace: false, trimOffsets: true);
            WriteByteLevel(json, "post_processor", addPrefixSpace: true, trimOffsets: false);
            WriteByteLevel(json, "decoder", addPrefixSpace: true, trimOffsets: true);
            json.WriteStartObject("model");
            json.WriteString("type", "BPE");
            json.WriteNull("dropout");
            json.WriteNull("unk_token");
            json.WriteString("continuing_subword_prefix", "");
            json.WriteString("end_of_word_suffix", "");
            json.WriteBoolean("fuse_unk", false);
            json.WriteBoolean("byte_fallback", false);
            json.WriteStartObject("vocab");
            foreach (var (token, id) in tokenizer.Vocabulary.Where(p => !tokenizer.SpecialTokens.ContainsKey(p.Key)).OrderBy(p => p.Value))
                json.WriteNumber(token, id);
            json.WriteEndObject();
            json.WriteStartArray("merges");
            foreach (var (left, right) in tokenizer.Merges) json.WriteStringValue($"{left} {right}");
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();
        });
    }

    private static (string, string) ReadMerge(string path, int index, JsonElement merge)
    {
        if (merge.ValueKind == JsonValueKind.String)
        {
            var text = merge.GetString()!;
            var parts = text.Split(' ');
            if (parts.Length == 2 && parts[0].Length > 0 && parts[1].Length > 0) return (parts[0], parts[1]);
            throw new TokenizerFormatException(path, $"merge {index} \"{text}\" is not \"left right\"");
        }
        if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
            && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            return (merge[0].GetString()!, merge[1].GetString()!);
        throw new TokenizerFormatException(path, $"merge {index} is {merge.GetRawText()}, expected \"left right\" or [\"left\", \"right\"]");
    }

    private static void CheckCompatible(string path, JsonElement root)
    {
        if (root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind != JsonValueKind.Null)
            throw new TokenizerFormatException(path, $"has a normalizer ({Describe(normalizer)}); only GPT-2 style tokenizers without one are supported");
        if (root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind != JsonValueKind.Null)
        {
            if (Describe(pre) != "ByteLevel")
                throw new TokenizerFormatException(path, $"pre_tokenizer is {Describe(pre)}; only GPT-2's ByteLevel pre-tokenizer is supported");
            if (pre.TryGetProperty("add_prefix_space", out var prefix) && prefix.ValueKind == JsonValueKind.True)
                throw new TokenizerFormatException(path, "pre_tokenizer.add_prefix_space is true; GPT-2 encodes without a prefix space");
            if (pre.TryGetProperty("use_regex", out var regex) && regex.ValueKind == JsonValueKind.False)
                throw new TokenizerFormatException(path, "pre_tokenizer.use_regex is false; GPT-2 splits with its regex");
        }
    }

    private static string Describe(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty("type", out var type) ? type.ToString() : element.GetRawText();

    private static void WriteByteLevel(Utf8JsonWriter json, string name, bool addPrefixSpace, bool trimOffsets)
    {
        json.WriteStartObject(name);
        json.WriteString("type", "ByteLevel");
        json.WriteBoolean("add_prefix_space", addPrefixSpace);
        json.WriteBoolean("trim_offsets", trimOffsets);
        json.WriteBoolean("use_regex", true);
        json.WriteEndObject();
    }
}
