using System.Text.Json;
using FluentAssertions;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>`reweight bench scorer` end to end: the `lm score` path and the scorer service (in-process broker, embedded
/// PostgreSQL) on the same proxy and corpus, with the ratio, the stage split and the batch fill in its reports.</summary>
public sealed class ScorerBenchCommandTests : IDisposable
{
    private readonly CliRunner.TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private (string Corpus, string Proxy) Setup()
    {
        var corpus = Path.Combine(_dir.Path, "corpus.jsonl");
        var rng = new Random(3);
        string[] words = ["alpha", "beta", "gamma", "delta", "tensor", "loss", "token", "model", "score", "batch"];
        File.WriteAllLines(corpus, Enumerable.Range(0, 40).Select(i => JsonSerializer.Serialize(new
        {
            id = $"doc-{i}", text = string.Join(' ', Enumerable.Range(0, 40 + rng.Next(200)).Select(_ => words[rng.Next(words.Length)])),
        })));
        var proxy = Path.Combine(_dir.Path, "proxy");
        var train = CliRunner.Run("proxy", "train", "--corpus", corpus, "--preset", "tiny", "--vocab-size", "300", "--steps", "4",
            "--batch", "4", "--seq", "32", "--out", proxy);
        train.ExitCode.Should().Be(0, train.Stderr);
        return (corpus, proxy);
    }

    [Fact]
    public void Both_paths_score_the_same_tokens_and_the_report_says_where_the_service_spent_its_time()
    {
        var (corpus, proxy) = Setup();
        var json = Path.Combine(_dir.Path, "scorer.json");
        var md = Path.Combine(_dir.Path, "scorer.md");
        var run = CliRunner.RunWithin(TimeSpan.FromMinutes(4), "bench", "scorer", "--model", proxy, "--corpus", corpus, "--documents", "30",
            "--token-budget", "2000", "--repeats", "2", "--json", json, "--md", md);
        run.ExitCode.Should().Be(0, run.Stderr);
        run.Stdout.Should().Contain("service / lm score:");

        var result = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        var direct = result.GetProperty("lm_score");
        var service = result.GetProperty("service");
        direct.GetProperty("documents").GetInt32().Should().Be(30);
        service.GetProperty("documents").GetInt32().Should().Be(30, "every document was stored");
        service.GetProperty("tokens").GetInt64().Should().Be(direct.GetProperty("tokens").GetInt64(), "both paths score the same tokens");
        result.GetProperty("ratio_per_repeat").GetArrayLength().Should().Be(2);
        var ratio = result.GetProperty("ratio").GetDouble();
        var perSecond = service.GetProperty("tokens_per_second").GetDouble() / direct.GetProperty("tokens_per_second").GetDouble();
        ratio.Should().BeApproximately(perSecond, 0.01);
        result.GetProperty("goal_ratio_at_least_0_9").GetBoolean().Should().Be(ratio >= 0.9);
        service.GetProperty("stages_seconds").GetProperty("forward passes").GetDouble().Should().BePositive();
        service.GetProperty("stages_seconds").GetProperty("PostgreSQL transaction").GetDouble().Should().BePositive();
        var closed = service.GetProperty("batches_closed").EnumerateObject().Sum(p => p.Value.GetInt64());
        closed.Should().BeGreaterThanOrEqualTo(2, "30 documents of up to 240 tokens do not fit one 2,000-token micro-batch");
        service.GetProperty("micro_batches").GetInt64().Should().Be(closed);
        service.GetProperty("mean_batch_fill").GetDouble().Should().BeInRange(0.01, 1.5);

        var report = File.ReadAllText(md);
        report.Should().Contain("| `lm score` |").And.Contain("| scorer service |").And.Contain("| PostgreSQL transaction | loop |");
    }

    [Fact]
    public void Bad_settings_fail_with_a_message_and_a_non_zero_exit()
    {
        var corpus = Path.Combine(_dir.Path, "one.jsonl");
        File.WriteAllText(corpus, "{\"id\": \"a\", \"text\": \"alpha beta\"}\n");
        var missing = CliRunner.Run("bench", "scorer", "--model", Path.Combine(_dir.Path, "no-such-proxy"), "--corpus", corpus);
        missing.ExitCode.Should().NotBe(0);
        missing.Stderr.Should().Contain("error:");

        var (_, proxy) = Setup();
        var repeats = CliRunner.Run("bench", "scorer", "--model", proxy, "--corpus", corpus, "--repeats", "0");
        repeats.ExitCode.Should().Be(1);
        repeats.Stderr.Should().Contain("--repeats must be positive");
    }
}
