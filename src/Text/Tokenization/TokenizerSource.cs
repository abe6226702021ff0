namespace Reweighting.Text.Tokenization;

/// <summary>Resolves what a user names as a tokenizer: a built-in vocabulary by name, or a directory of tokenizer files.</summary>
public static class TokenizerSource
{
    /// <summary>Built-in vocabularies by name.</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } = [Gpt2Vocabulary.Name];

    /// <summary>Whether a value names a built-in vocabulary rather than a directory (write a directory so named <c>./gpt2</c>).</summary>
    public static bool IsBuiltIn(string nameOrDirectory) => nameOrDirectory == Gpt2Vocabulary.Name;

    /// <summary>Loads <c>gpt2</c> (GPT-2's vocabulary, built in) or the tokenizer files in a directory.</summary>
    /// <exception cref="TokenizerFormatException">The directory holds no tokenizer, or its files are corrupt.</exception>
    public static BpeTokenizer Load(string nameOrDirectory)
    {
        ArgumentNullException.ThrowIfNull(nameOrDirectory);
        return IsBuiltIn(nameOrDirectory) ? Gpt2Vocabulary.Create() : TokenizerDirectory.Load(nameOrDirectory);
    }
}
