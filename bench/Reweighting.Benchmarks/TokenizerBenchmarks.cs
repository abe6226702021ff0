using System.Text;
using BenchmarkDotNet.Attributes;
using Reweighting.Text.Corpus;
using Reweighting.Text.Tokenization;
using TiktokenTokenizer = Microsoft.ML.Tokenizers.TiktokenTokenizer;

namespace Reweighting.Benchmarks;

/// <summary>Encoding 256 kB of held-out synthetic English-like text with GPT-2's vocabulary: the project's encoder with a
/// warm word cache and without a cache, and Microsoft.ML.Tokenizers' encoder (its own cache, warm) on the same text.
/// Divide <see cref="Megabytes"/> by the mean time for MB/s.</summary>
[MemoryDiagnoser]
public class TokenizerBenchmarks
{
    private const int Bytes = 256_000;
    private readonly List<int> _output = new(1 << 16);
    private string[] _documents = [];
    private BpeTokenizer _project = null!;
    private TiktokenTokenizer _library = null!;

    /// <summary>MB of UTF-8 text one operation encodes.</summary>
    public static double Megabytes => Bytes / 1e6;

    [GlobalSetup]
    public void Setup()
    {
        _documents = SyntheticEnglish.Generate(Bytes, seed: 2).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (_documents.Sum(d => Encoding.UTF8.GetByteCount(d)) < Bytes / 2)
            throw new InvalidOperationException("too little text generated");
        _project = Gpt2Vocabulary.Create();
        _library = TiktokenTokenizer.CreateForModel("gpt2");
        // Warm both caches; a fresh cache is the CLI benchmark's business (one pass, not repeatable here).
        ProjectWarmCache();
        LibraryWarmCache();
    }

    [Benchmark(Baseline = true, Description = "project, warm cache")]
    public int ProjectWarmCache()
    {
        var tokens = 0;
        foreach (var document in _documents)
        {
            _output.Clear();
            _project.Encode(document, _output);
            tokens += _output.Count;
        }
        return tokens;
    }

    [Benchmark(Description = "project, no cache")]
    public int ProjectNoCache()
    {
        var tokens = 0;
        foreach (var document in _documents)
        {
            _output.Clear();
            _project.EncodeUncached(document, _output);
            tokens += _output.Count;
        }
        return tokens;
    }

    [Benchmark(Description = "Microsoft.ML.Tokenizers, warm cache")]
    public int LibraryWarmCache()
    {
        var tokens = 0;
        foreach (var document in _documents) tokens += _library.EncodeToIds(document).Count;
        return tokens;
    }
}
