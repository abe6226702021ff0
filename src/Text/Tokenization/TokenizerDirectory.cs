namespace Reweighting.Text.Tokenization;

/// <summary>A directory holding a tokenizer: tokenizer.json, or GPT-2's encoder.json + vocab.bpe, or vocab.json + merges.txt.</summary>
public static class TokenizerDirectory
{
    /// <summary>The Hugging Face file name, read first and always written.</summary>
    public const string TokenizerJsonFile = "tokenizer.json";

    /// <summary>GPT-2's vocabulary file name.</summary>
    public const string EncoderJsonFile = "encoder.json";

    /// <summary>GPT-2's merges file name.</summary>
    public const string VocabBpeFile = "vocab.bpe";

    /// <summary>Loads the tokenizer in a directory, preferring tokenizer.json, then encoder.json + vocab.bpe, then vocab.json + merges.txt.</summary>
    /// <exception cref="TokenizerFormatException">No tokenizer files are there, or they are corrupt.</exception>
    public static BpeTokenizer Load(string directory)
    {
        if (!Directory.Exists(directory)) throw new TokenizerFormatException(directory, "tokenizer directory not found");
        var hf = Path.Combine(directory, TokenizerJsonFile);
        if (File.Exists(hf)) return HuggingFaceTokenizerJson.Read(hf);
        foreach (var (vocab, merges) in new[] { (EncoderJsonFile, VocabBpeFile), ("vocab.json", "merges.txt") })
        {
            var v = Path.Combine(directory, vocab);
            var m = Path.Combine(directory, merges);
            if (File.Exists(v) || File.Exists(m)) return Gpt2VocabularyFiles.Read(v, m);
        }
        throw new TokenizerFormatException(directory, $"no {TokenizerJsonFile}, {EncoderJsonFile} + {VocabBpeFile}, or vocab.json + merges.txt here");
    }

    /// <summary>Saves tokenizer.json and encoder.json + vocab.bpe into a directory (created if needed), each file written atomically.</summary>
    public static void Save(BpeTokenizer tokenizer, string directory)
    {
        Directory.CreateDirectory(directory);
        HuggingFaceTokenizerJson.Write(tokenizer, Path.Combine(directory, TokenizerJsonFile));
        Gpt2VocabularyFiles.Write(tokenizer, Path.Combine(directory, EncoderJsonFile), Path.Combine(directory, VocabBpeFile));
    }
}
