using Reweighting.Text.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Reweighting.Text.Tokenization;

/// <summary>GPT-2's original files: encoder.json (token → id) and vocab.bpe (a "#version" line, then one "left right" merge per line).</summary>
/// <remarks>Hugging Face's vocab.json + merges.txt use the same two layouts under other names.</remarks>
public static class Gpt2VocabularyFiles
{
    /// <summary>Reads a tokenizer from an encoder.json and a vocab.bpe file.</summary>
    /// <exception cref="TokenizerFormatException">A file is missing, truncated or inconsistent; the message names it.</exception>
    public static BpeTokenizer Read(string encoderJsonPath, string vocabBpePath)
    {
        var vocabulary = ReadEncoder(encoderJsonPath);
        var merges = ReadMerges(vocabBpePath);
        try
        {
            return new BpeTokenizer(vocabulary, merges);
        }
        catch (ArgumentException e)
        {
            throw new TokenizerFormatException($"{encoderJsonPath} + {vocabBpePath}", e.Message, e);
        }
    }

    /// <summary>Writes encoder.json and vocab.bpe (special tokens go into encoder.json, as in GPT-2's).</summary>
    public static void Write(BpeTokenizer tokenizer, string encoderJsonPath, string vocabBpePath)
    {
        AtomicFile.Write(encoderJsonPath, stream =>
        {
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            json.WriteStartObject();
            foreach (var (token, id) in tokenizer.Vocabulary.OrderBy(p => p.Value)) json.WriteNumber(token, id);
            json.WriteEndObject();
        });
        AtomicFile.Write(vocabBpePath, stream =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(false), bufferSize: 1 << 16, leaveOpen: true) { NewLine = "\n" };
            writer.WriteLine("#version: 0.2");
            foreach (var (left, right) in tokenizer.Merges) writer.WriteLine($"{left} {right}");
        });
    }

    internal static Dictionary<string, int> ReadEncoder(string path)
    {
        using var document = TokenizerJson.Parse(path);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
            throw new TokenizerFormatException(path, "expected a JSON object mapping tokens to ids");
        return TokenizerJson.ReadVocabulary(path, document.RootElement);
    }

    internal static List<(string, string)> ReadMerges(string path)
    {
        if (!File.Exists(path)) throw new TokenizerFormatException(path, "file not found");
        var merges = new List<(string, string)>();
        var lineNumber = 0;
        foreach (var raw in File.ReadLines(path, new UTF8Encoding(false, throwOnInvalidBytes: true)))
        {
            lineNumber++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
            var space = line.IndexOf(' ');
            if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
                throw new TokenizerFormatException($"{path}:{lineNumber}", $"expected a merge \"left right\", found \"{line}\"");
            merges.Add((line[..space], line[(space + 1)..]));
        }
        return merges;
    }
}
