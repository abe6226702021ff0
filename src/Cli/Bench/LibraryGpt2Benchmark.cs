using System.Diagnostics;
using System.Text.Json.Serialization;
using TiktokenTokenizer = Microsoft.ML.Tokenizers.TiktokenTokenizer;
using Reweighting.Cli.Commands;
using Reweighting.Text.Tokenization;

namespace Reweighting.Cli.Bench;

/// <summary>Microsoft.ML.Tokenizers' GPT-2 encoder on the benchmark's held-out text: the reference our encoder is timed against.</summary>
/// <remarks>
/// A new library tokenizer per measurement, so its first pass starts with an empty cache (its default: the 8,192 most
/// recent words) as the project's does; the second pass is its warm figure. Ids come from the library's public
/// <c>EncodeToIds(string)</c>, a new list per document, as a caller would use it.
/// </remarks>
internal static class LibraryGpt2Benchmark
{
    /// <summary>Encodes a few documents on a throwaway tokenizer so the timed passes do not include JIT compilation.</summary>
    public static void WarmUp(IEnumerable<string> sample)
    {
        var library = TiktokenTokenizer.CreateForModel("gpt2");
        foreach (var text in sample) library.EncodeToIds(text);
    }

    /// <summary>Times a fresh and a warm pass, then compares every document's ids with the project's (untimed).</summary>
    public static LibraryMeasurement Measure(List<string> held, long bytes, BpeTokenizer project)
    {
        var library = TiktokenTokenizer.CreateForModel("gpt2");
        long tokens = 0;
        double Pass()
        {
            tokens = 0;
            var clock = Stopwatch.StartNew();
            foreach (var text in held) tokens += library.EncodeToIds(text).Count;
            return bytes / 1e6 / clock.Elapsed.TotalSeconds;
        }
        var fresh = Pass();
        var warm = Pass();

        var identical = 0;
        var ids = new List<int>();
        foreach (var text in held)
        {
            ids.Clear();
            project.Encode(text, ids, allowSpecialTokens: true);
            if (ids.SequenceEqual(library.EncodeToIds(text))) identical++;
        }
        return new LibraryMeasurement(TokenizerParityCommand.LibraryName, tokens, identical, Math.Round(fresh, 2), Math.Round(warm, 2));
    }
}

/// <summary>The library's figures on the benchmark text.</summary>
internal sealed record LibraryMeasurement(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("tokens")] long Tokens,
    [property: JsonPropertyName("identical_documents")] int IdenticalDocuments,
    [property: JsonPropertyName("mb_per_s_fresh_cache")] double MbPerSFreshCache,
    [property: JsonPropertyName("mb_per_s_warm_cache")] double MbPerSWarmCache);
