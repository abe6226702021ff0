using System.Text.Json;
using FluentAssertions;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>`--tokenizer gpt2` (GPT-2's vocabulary without files) through the commands, and the parity check against the library.</summary>
public sealed class TokenizerCommandTests : IDisposable
{
    private readonly CliRunner.TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Jsonl(params string[] texts)
    {
        var path = Path.Combine(_dir.Path, $"corpus-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(path, texts.Select((t, i) => JsonSerializer.Serialize(new { id = $"doc-{i}", text = t })));
        return path;
    }

    [Fact]
    public void Encode_and_decode_with_the_built_in_gpt2_vocabulary()
    {
        var encode = CliRunner.Run("tokenizer", "encode", "--tokenizer", "gpt2", "--text", "Hello world");
        encode.ExitCode.Should().Be(0, encode.Stderr);
        encode.Stdout.Trim().Should().Be("15496,995");
        var decode = CliRunner.Run("tokenizer", "decode", "--tokenizer", "gpt2", "--ids", "15496,995", "--json");
        decode.ExitCode.Should().Be(0, decode.Stderr);
        JsonDocument.Parse(decode.Stdout).RootElement.GetProperty("text").GetString().Should().Be("Hello world");
    }

    [Fact]
    public void A_proxy_trained_with_gpt2_carries_gpt2s_vocabulary_into_scoring()
    {
        var words = new[] { "the", "model", "reads", "every", "document", "once", "and", "scores", "it" };
        var rng = new Random(3);
        var texts = Enumerable.Range(0, 30).Select(_ => string.Join(" ", Enumerable.Range(0, 40).Select(_ => words[rng.Next(9)])));
        var corpus = Jsonl(texts.ToArray());
        var ckpt = Path.Combine(_dir.Path, "proxy");
        var train = CliRunner.Run("proxy", "train", "--corpus", corpus, "--tokenizer", "gpt2", "--preset", "tiny", "--steps", "1",
            "--batch", "2", "--seq", "16", "--out", ckpt);
        train.ExitCode.Should().Be(0, train.Stderr);
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(ckpt, "config.json"))).RootElement;
        config.GetProperty("vocab_size").GetInt32().Should().Be(50257);

        var encode = CliRunner.Run("tokenizer", "encode", "--tokenizer", ckpt, "--text", "Hello world");
        encode.Stdout.Trim().Should().Be("15496,995", "the checkpoint holds GPT-2's files");
        var scores = Path.Combine(_dir.Path, "scores.jsonl");
        var score = CliRunner.Run("lm", "score", "--model", ckpt, "--corpus", corpus, "--out", scores);
        score.ExitCode.Should().Be(0, score.Stderr);
        var first = JsonDocument.Parse(File.ReadLines(scores).First()).RootElement;
        var firstText = JsonDocument.Parse(File.ReadLines(corpus).First()).RootElement.GetProperty("text").GetString()!;
        var gpt2 = CliRunner.Run("tokenizer", "encode", "--tokenizer", "gpt2", "--text", firstText, "--json");
        var gpt2Tokens = JsonDocument.Parse(gpt2.Stdout).RootElement.GetProperty("tokens").GetInt32();
        first.GetProperty("n_tokens").GetInt32().Should().Be(gpt2Tokens - 1, "every GPT-2 token but the first is scored");
    }

    [Fact]
    public void Parity_passes_on_agreeing_text_and_explains_the_librarys_surrogate_split()
    {
        var agreeing = Jsonl("Hello world, it's   here\n\n東京 👨‍👩‍👧", "a<|endoftext|>b");
        var same = CliRunner.Run("tokenizer", "parity", "--corpus", agreeing, "--json");
        same.ExitCode.Should().Be(0, same.Stderr + same.Stdout);
        var result = JsonDocument.Parse(same.Stdout).RootElement;
        result.GetProperty("documents").GetInt64().Should().Be(2);
        result.GetProperty("tokens").GetInt64().Should().BeGreaterThan(10);
        result.GetProperty("mismatched_documents").GetInt32().Should().Be(0);

        var split = CliRunner.Run("tokenizer", "parity", "--corpus", Jsonl("fine", "\U0002A6D6'll"), "--json");
        split.ExitCode.Should().Be(0, "a known, explained difference does not fail the check");
        var explained = JsonDocument.Parse(split.Stdout).RootElement;
        explained.GetProperty("mismatched_documents").GetInt32().Should().Be(1);
        explained.GetProperty("unexplained").GetInt32().Should().Be(0);
        explained.GetProperty("mismatches")[0].GetProperty("kind").GetString().Should().Be("SupplementaryLetterOrNumber");
    }

    [Fact]
    public void The_benchmark_times_the_library_beside_the_project_on_the_same_text()
    {
        var json = Path.Combine(_dir.Path, "bench.json");
        var bench = CliRunner.Run("tokenizer", "bench", "--tokenizer", "gpt2", "--encode-mb", "0.2", "--train-mb", "0.01", "--json", json);
        bench.ExitCode.Should().Be(0, bench.Stderr);
        var result = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        var documents = result.GetProperty("encode").GetProperty("documents").GetInt32();
        var library = result.GetProperty("library");
        library.GetProperty("identical_documents").GetInt32().Should().Be(documents);
        library.GetProperty("tokens").GetInt64().Should().Be(result.GetProperty("encode").GetProperty("tokens").GetInt64());
        library.GetProperty("mb_per_s_warm_cache").GetDouble().Should().BePositive();
        result.GetProperty("library_to_project").GetProperty("warm_cache").GetDouble().Should().BePositive();
    }
}
