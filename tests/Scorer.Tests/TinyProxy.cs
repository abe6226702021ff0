using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Scoring;
using Reweighting.Scorer.Pipeline;
using Reweighting.Text.Tokenization;
using Reweighting.Torch;

namespace Reweighting.Scorer.Tests;

/// <summary>A proxy small enough for tests: a BPE tokenizer trained here and a one-layer GPT with a 32-token
/// context, saved once per test run as a checkpoint directory.</summary>
public static class TinyProxy
{
    public const int ContextLength = 32;
    private static readonly Lazy<string> Saved = new(Save);

    /// <summary>The checkpoint directory (model and tokenizer).</summary>
    public static string Directory => Saved.Value;

    /// <summary>The proxy, scoring at most <paramref name="windowBatchSize"/> windows per forward pass.</summary>
    public static ProxyScorer Load(int windowBatchSize = 8, bool prependEndOfText = true) =>
        ProxyScorer.Load(Directory, Device.Cpu, ScoringBatches.Rows(windowBatchSize, ContextLength), prependEndOfText);

    private static string Save()
    {
        var root = Path.Combine(Path.GetTempPath(), "reweight-scorer-tests-" + Guid.NewGuid().ToString("N")[..8]);
        var tokenizerDir = Path.Combine(root, "tokenizer");
        var tokenizer = BpeTrainer.Train(Corpus.Texts(200, seed: 99), vocabSize: 300);
        tokenizer.Save(tokenizerDir);
        using var model = new GptModel(new GptConfig(VocabSize: tokenizer.VocabSize, ContextLength: ContextLength, Layers: 1, Heads: 2, Embedding: 16), seed: 7);
        var checkpoint = Path.Combine(root, "tiny-proxy");
        Checkpoint.Save(checkpoint, model, tokenizerDir);
        return checkpoint;
    }
}

/// <summary>Deterministic English-like documents of varied length (some longer than the context).</summary>
public static class Corpus
{
    private static readonly string[] Words =
        ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "data", "model", "loss", "token", "stream",
         "kafka", "batch", "score", "weight", "noisy", "easy", "hard", "cluster", "mixture", "scorer", "trainer"];

    public static string Text(Random random)
    {
        var n = random.Next(3, 60);
        return string.Join(' ', Enumerable.Range(0, n).Select(_ => Words[random.Next(Words.Length)])) + ".";
    }

    public static IEnumerable<string> Texts(int count, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++) yield return Text(random);
    }
}
