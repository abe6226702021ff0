namespace Reweighting.Text.Tokenization;

/// <summary>A tokenizer file is missing, truncated, corrupt or describes something other than a byte-level BPE tokenizer.</summary>
public sealed class TokenizerFormatException(string path, string reason, Exception? inner = null)
    : Exception($"{path}: {reason}", inner)
{
    /// <summary>The file (or directory) at fault.</summary>
    public string Path { get; } = path;
}
