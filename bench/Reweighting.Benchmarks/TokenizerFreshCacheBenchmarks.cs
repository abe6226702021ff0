using BenchmarkDotNet.Attributes;
using Reweighting.Text.Corpus;
using Reweighting.Text.Tokenization;

namespace Reweighting.Benchmarks;

/// <summary>What a newly started scorer sees: GPT-2's vocabulary with an empty word cache encoding the same 256 kB as
/// <see cref="TokenizerBenchmarks"/>, the cache filling as it goes. Every measured pass gets a new tokenizer, built
/// outside the clock, so each operation is one pass.</summary>
[MemoryDiagnoser]
[InvocationCount(1)]
public class TokenizerFreshCacheBenchmarks
{
    private readonly List<int> _output = new(1 << 16);
    private string[] _documents = [];
    private BpeTokenizer _tokenizer = null!;

    [GlobalSetup]
    public void Setup() => _documents = SyntheticEnglish.Generate(256_000, seed: 2).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [IterationSetup]
    public void NewTokenizer() => _tokenizer = Gpt2Vocabulary.Create();

    [Benchmark(Description = "project, fresh cache")]
    public int ProjectFreshCache()
    {
        var tokens = 0;
        foreach (var document in _documents)
        {
            _output.Clear();
            _tokenizer.Encode(document, _output);
            tokens += _output.Count;
        }
        return tokens;
    }
}
