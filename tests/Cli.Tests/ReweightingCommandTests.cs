using System.Text.Json;
using FluentAssertions;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>`reweight train --strategy` with every strategy and `reweight eval reweighting`, as separate processes.</summary>
public sealed class ReweightingCommandTests : IDisposable
{
    private readonly CliRunner.TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Corpus(string name, int documents, int seed)
    {
        var path = Path.Combine(_dir.Path, name);
        var rng = new Random(seed);
        string[] words = ["alpha", "beta", "gamma", "delta", "tensor", "loss", "token", "model", "score", "batch"];
        File.WriteAllLines(path, Enumerable.Range(0, documents).Select(i => JsonSerializer.Serialize(new
        {
            id = $"{name}-{i}",
            text = string.Join(" ", Enumerable.Range(0, 80 + rng.Next(40)).Select(j => words[(i + j * (i % 3 + 1)) % words.Length])),
        })));
        return path;
    }

    [Fact]
    public void Every_strategy_trains_from_a_corpus_and_the_evaluation_compares_them_with_uniform()
    {
        var clean = Corpus("clean.jsonl", 60, 1);
        var valid = Corpus("valid.jsonl", 24, 2);
        var noisy = Path.Combine(_dir.Path, "noisy.jsonl");
        CliRunner.Run("corpus", "corrupt", "--in", clean, "--out", noisy, "--fraction", "0.25", "--seed", "3").ExitCode.Should().Be(0);
        var proxy = Path.Combine(_dir.Path, "proxy");
        var proxyRun = CliRunner.Run("proxy", "train", "--corpus", noisy, "--preset", "tiny", "--vocab-size", "300", "--steps", "8", "--batch", "4", "--seq", "32", "--out", proxy);
        proxyRun.ExitCode.Should().Be(0, proxyRun.Stderr);

        var phiLog = Path.Combine(_dir.Path, "phi.jsonl");
        var meta = CliRunner.Run("train", "--corpus", noisy, "--valid", valid, "--proxy", proxy, "--strategy", "meta-em", "--steps", "3", "--batch", "4", "--seq", "32",
            "--gmm-sample", "32", "--phi-log", phiLog, "--meta-gradient", "forward", "--meta-sequences", "2", "--meta-validation", "2", "--out", Path.Combine(_dir.Path, "meta"));
        meta.ExitCode.Should().Be(0, meta.Stderr);
        meta.Stderr.Should().Contain("forward-mode alignments from 2 random sequences of each micro-batch, 2 validation sequences");
        meta.Stderr.Should().Contain("phi initialised from the GMM").And.Contain("phi: lambda").And.Contain("max w·M");
        meta.Stderr.Should().Contain("named from the clean validation stream").And.Contain("the clean reference does not call noisy");
        var updates = File.ReadAllLines(phiLog).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        updates.Select(u => u.GetProperty("step").GetInt64()).Should().Equal(0, 1, 2);
        updates[0].GetProperty("phi").GetProperty("pi").EnumerateArray().Sum(p => p.GetDouble()).Should().BeApproximately(1, 1e-9);
        File.Exists(Path.Combine(_dir.Path, "meta", "objective_state.json")).Should().BeTrue("phi travels with the checkpoint");

        var heuristic = CliRunner.Run("train", "--corpus", noisy, "--proxy", proxy, "--strategy", "cluster-heuristic", "--steps", "2", "--batch", "4", "--seq", "32",
            "--gmm-sample", "32", "--gmm-components", "2", "--out", Path.Combine(_dir.Path, "heuristic"));
        heuristic.ExitCode.Should().Be(0, heuristic.Stderr);
        heuristic.Stderr.Should().Contain("GMM fitted on the proxy statistics of 32 training sequences");
        var fitted = heuristic.Stderr.Split('\n').First(l => l.Contains("GMM fitted on the proxy statistics"));
        fitted[(fitted.LastIndexOf("):", StringComparison.Ordinal) + 2)..].Split(',').Should().HaveCount(2, "--gmm-components sets K: " + fitted);
        var badK = CliRunner.Run("train", "--corpus", noisy, "--proxy", proxy, "--strategy", "cluster-heuristic", "--steps", "2", "--gmm-components", "-1",
            "--out", Path.Combine(_dir.Path, "w"));
        badK.ExitCode.Should().NotBe(0);
        badK.Stderr.Should().Contain("--gmm-components must be 0 (chosen by BIC) or positive");
        var masked = CliRunner.Run("train", "--corpus", noisy, "--proxy", proxy, "--strategy", "token-masked", "--top-q", "0.5", "--steps", "2", "--batch", "4", "--seq", "32",
            "--out", Path.Combine(_dir.Path, "masked"));
        masked.ExitCode.Should().Be(0, masked.Stderr);
        masked.Stderr.Should().Contain("mle 50% of tokens");
        var exactSubset = CliRunner.Run("train", "--corpus", noisy, "--proxy", proxy, "--strategy", "meta-em", "--meta-gradient", "exact", "--meta-sequences", "2",
            "--steps", "2", "--out", Path.Combine(_dir.Path, "y"));
        exactSubset.ExitCode.Should().NotBe(0);
        exactSubset.Stderr.Should().Contain("takes no subset");
        var unknownMethod = CliRunner.Run("train", "--corpus", noisy, "--proxy", proxy, "--strategy", "meta-em", "--meta-gradient", "jvp", "--steps", "2",
            "--out", Path.Combine(_dir.Path, "z"));
        unknownMethod.ExitCode.Should().NotBe(0);
        unknownMethod.Stderr.Should().Contain("jvp");
        var noProxy = CliRunner.Run("train", "--corpus", noisy, "--strategy", "meta-em", "--steps", "2", "--out", Path.Combine(_dir.Path, "x"));
        noProxy.ExitCode.Should().NotBe(0);
        noProxy.Stderr.Should().Contain("needs --proxy");

        var eval = CliRunner.Run("eval", "reweighting", "--train", noisy, "--valid", valid, "--proxy", proxy, "--strategies", "linupper,meta-em,token-masked",
            "--seeds", "2", "--steps", "3", "--batch", "4", "--seq", "32", "--json", "--out", Path.Combine(_dir.Path, "report.json"));
        eval.ExitCode.Should().Be(0, eval.Stderr);
        var report = JsonDocument.Parse(eval.Stdout).RootElement;
        report.GetProperty("statistics").GetString().Should().Be("documents", "meta-em weighs whole documents' statistics by default");
        eval.Stderr.Should().Contain("GMM fitted on the statistics of 60 training documents (named from");
        File.ReadAllText(Path.Combine(_dir.Path, "report.json")).Should().Contain("\"strategies\"");
        var strategies = report.GetProperty("strategies");
        strategies.EnumerateObject().Select(p => p.Name).Should()
            .Equal("uniform", "linupper", "meta-em", "token-masked", "oracle", "oracle:weights", "filter", "distill", "filter+meta-em",
                "meta-em:frozen");
        strategies.GetProperty("meta-em:frozen").GetProperty("max_weight_times_m").GetDouble().Should().BeLessThanOrEqualTo(2 + 1e-9);
        foreach (var s in strategies.EnumerateObject())
        {
            s.Value.GetProperty("valid_losses").GetArrayLength().Should().Be(2);
            s.Value.GetProperty("valid_loss_mean").GetDouble().Should().BeInRange(0.1, 20);
            s.Value.GetProperty("valid_loss_std").GetDouble().Should().BeGreaterThanOrEqualTo(0);
            s.Value.GetProperty("step_time_ratio").GetDouble().Should().BePositive();
        }
        var uniform = strategies.GetProperty("uniform");
        uniform.GetProperty("step_time_ratio").GetDouble().Should().Be(1);
        uniform.GetProperty("max_weight_times_m").GetDouble().Should().BeApproximately(1, 1e-9);
        uniform.GetProperty("diff_to_uniform").GetProperty("mean").GetDouble().Should().Be(0);
        uniform.GetProperty("noisy_weight_share").GetDouble().Should().BeInRange(0.05, 0.6, "a quarter of the documents are noisy");
        uniform.GetProperty("clean_effective_share").GetDouble().Should()
            .BeApproximately(1, 1e-9, "uniform weighs every clean sequence alike");
        strategies.GetProperty("meta-em").GetProperty("clean_effective_share").GetDouble().Should().BeInRange(0.01, 1 + 1e-9);
        strategies.GetProperty("meta-em").GetProperty("max_weight_times_m").GetDouble().Should().BeLessThanOrEqualTo(2 + 1e-9, "the 2/M bound");
        strategies.GetProperty("token-masked").GetProperty("noisy_weight_share").ValueKind.Should().Be(JsonValueKind.Null, "token-masked weighs tokens, not samples");

        // The arms: the oracle drops exactly the injected noise, the filter what the labels call noisy, distill weighs tokens.
        var truth = File.ReadLines(noisy).Select(l => JsonDocument.Parse(l).RootElement)
            .Count(d => d.TryGetProperty("label", out var label) && label.GetString() == "noisy");
        truth.Should().BeGreaterThan(5);
        var oracle = strategies.GetProperty("oracle");
        oracle.GetProperty("arm").GetBoolean().Should().BeTrue();
        oracle.GetProperty("dropped_noisy").GetInt32().Should().Be(truth);
        oracle.GetProperty("dropped_clean").GetInt32().Should().Be(0);
        oracle.GetProperty("training_documents").GetInt32().Should().Be(60 - truth);
        oracle.GetProperty("noisy_weight_share").GetDouble().Should().Be(0, "no noisy document is left to weigh");
        var weightsOracle = strategies.GetProperty("oracle:weights");
        weightsOracle.GetProperty("arm").GetBoolean().Should().BeTrue();
        weightsOracle.TryGetProperty("training_documents", out _).Should().BeFalse("it trains on uniform's batches, noise and all");
        weightsOracle.GetProperty("kept_token_share").GetDouble().Should().BeInRange(0.3, 0.97, "the noise's tokens get weight 0");
        oracle.TryGetProperty("kept_token_share", out _).Should().BeFalse();
        var filter = strategies.GetProperty("filter");
        var dropped = filter.GetProperty("dropped_noisy").GetInt32() + filter.GetProperty("dropped_clean").GetInt32();
        filter.GetProperty("training_documents").GetInt32().Should().Be(60 - dropped);
        eval.Stderr.Should().Contain($"filter: trains on {60 - dropped} of 60 documents");
        var filteredMetaEm = strategies.GetProperty("filter+meta-em");
        filteredMetaEm.GetProperty("arm").GetBoolean().Should().BeTrue();
        filteredMetaEm.GetProperty("training_documents").GetInt32().Should().Be(60 - dropped, "meta-em on what the filter keeps");
        filteredMetaEm.GetProperty("dropped_noisy").GetInt32().Should().Be(filter.GetProperty("dropped_noisy").GetInt32());
        filteredMetaEm.GetProperty("max_weight_times_m").GetDouble().Should().BeLessThanOrEqualTo(2 + 1e-9, "meta-em weighs it");
        eval.Stderr.Should().Contain($"GMM fitted on the statistics of {60 - dropped} training documents");
        strategies.GetProperty("distill").GetProperty("noisy_weight_share").ValueKind.Should()
            .Be(JsonValueKind.Null, "distill weighs tokens");
        strategies.GetProperty("linupper").GetProperty("arm").GetBoolean().Should().BeFalse();
        var headroom = report.GetProperty("headroom").GetProperty("mean").GetDouble();
        var uniformLoss = uniform.GetProperty("valid_loss_mean").GetDouble();
        headroom.Should().BeApproximately(uniformLoss - oracle.GetProperty("valid_loss_mean").GetDouble(), 1e-9);
        strategies.GetProperty("linupper").GetProperty("headroom_share").GetProperty("mean").GetDouble().Should().BeApproximately(
            (uniformLoss - strategies.GetProperty("linupper").GetProperty("valid_loss_mean").GetDouble()) / headroom, 1e-9);
        oracle.GetProperty("headroom_share").GetProperty("mean").GetDouble().Should().BeApproximately(1, 1e-9);
        var weightsHeadroom = report.GetProperty("headroom_weights").GetProperty("mean").GetDouble();
        weightsHeadroom.Should().BeApproximately(uniformLoss - weightsOracle.GetProperty("valid_loss_mean").GetDouble(), 1e-9);
        weightsOracle.GetProperty("weights_headroom_share").GetProperty("mean").GetDouble().Should().BeApproximately(1, 1e-9);
        strategies.GetProperty("linupper").GetProperty("weights_headroom_share").GetProperty("mean").GetDouble().Should().BeApproximately(
            (uniformLoss - strategies.GetProperty("linupper").GetProperty("valid_loss_mean").GetDouble()) / weightsHeadroom, 1e-9);

        var noArms = CliRunner.Run("eval", "reweighting", "--train", noisy, "--valid", valid, "--strategies", "linupper", "--arms", "none",
            "--seeds", "1", "--steps", "3", "--batch", "4", "--seq", "32", "--tokenizer", proxy, "--json");
        noArms.ExitCode.Should().Be(0, noArms.Stderr);
        JsonDocument.Parse(noArms.Stdout).RootElement.GetProperty("strategies").EnumerateObject().Select(p => p.Name).Should()
            .Equal("uniform", "linupper");
        JsonDocument.Parse(noArms.Stdout).RootElement.GetProperty("headroom").ValueKind.Should().Be(JsonValueKind.Null);
        JsonDocument.Parse(noArms.Stdout).RootElement.GetProperty("headroom_weights").ValueKind.Should().Be(JsonValueKind.Null);
        CliRunner.Run("eval", "reweighting", "--train", noisy, "--valid", valid, "--strategies", "linupper", "--arms", "oracle,lucky",
            "--steps", "3").Stderr.Should().Contain("unknown arm 'lucky'");
        CliRunner.Run("eval", "reweighting", "--train", noisy, "--valid", valid, "--strategies", "linupper", "--arms", "filter",
            "--steps", "3").Stderr.Should().Contain("need --proxy");
        CliRunner.Run("eval", "reweighting", "--train", noisy, "--valid", valid, "--strategies", "uniform,loudest", "--steps", "3").ExitCode.Should().NotBe(0);
        CliRunner.Run("eval", "reweighting", "--train", noisy, "--valid", valid, "--strategies", "meta-em", "--arms", "oracle",
            "--steps", "3").Stderr.Should().Contain("need --proxy");
        var wide = CliRunner.Run("eval", "reweighting", "--train", noisy, "--valid", valid, "--proxy", proxy, "--strategies", "meta-em",
            "--arms", "none", "--meta-width", "4", "--meta-min-width", "8", "--steps", "3");
        wide.ExitCode.Should().NotBe(0);
        wide.Stderr.Should().Contain("narrowest kernel width must be 0 (no bound) or positive and at most the initial width 4");
    }
}
