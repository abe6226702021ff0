using System.Text;
using System.Text.Json;
using FluentAssertions;
using Reweighting.Gmm;
using Reweighting.Text.Tokenization;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>`lm score` and `eval noise-detection` end to end, as separate processes, on two corrupted corpora and a
/// proxy the fixture trained once: scored bytes, the per-byte baselines, --reference-scores, and several corpora at once.</summary>
public sealed class NoiseDetectionCommandTests(NoiseDetectionCommandTests.NoisyCorpora data)
    : IClassFixture<NoiseDetectionCommandTests.NoisyCorpora>
{
    private static readonly string[] Metrics = ["auroc", "average_precision", "noisy_precision", "noisy_recall"];

    private static readonly string[] PerByteMethods = ["loss_per_byte", "loss_per_byte_two_sided", "bytes_per_token_two_sided"];

    [Fact]
    public void Lm_score_rows_carry_the_utf8_bytes_of_every_token_but_the_first()
    {
        var tokenizer = BpeTokenizer.Load(data.Proxy);
        var texts = File.ReadLines(data.Clean).Select(l => JsonDocument.Parse(l).RootElement)
            .ToDictionary(r => r.GetProperty("id").GetString()!, r => r.GetProperty("text").GetString()!);
        var rows = File.ReadLines(data.CleanScores).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        rows.Should().HaveCount(texts.Count);
        texts.Values.Should().Contain(t => Encoding.UTF8.GetByteCount(t) != t.Length, "some documents hold characters of several bytes");
        foreach (var row in rows)
        {
            var text = texts[row.GetProperty("id").GetString()!];
            // `lm score` prefixes no end-of-text token, so the first token is context only and its bytes are not scored.
            var first = tokenizer.DecodeBytes(tokenizer.Encode(text).AsSpan(0, 1)).Length;
            row.GetProperty("n_bytes").GetInt64().Should().Be(Encoding.UTF8.GetByteCount(text) - first, row.GetProperty("id").GetString());
        }
    }

    [Fact]
    public void The_per_byte_baselines_rank_by_loss_per_byte_and_need_scores_with_bytes()
    {
        var run = CliRunner.Run("eval", "noise-detection", "--scores", data.NoisyScores, "--corpus", data.Noisy, "--json");
        run.ExitCode.Should().Be(0, run.Stderr);
        var report = JsonDocument.Parse(run.Stdout).RootElement;
        var methods = report.GetProperty("methods");
        foreach (var method in PerByteMethods)
        {
            methods.GetProperty(method).GetProperty("flagged").GetInt32()
                .Should().Be(report.GetProperty("flagged_noisy_by_gmm").GetInt32(), $"{method} has the GMM's budget");
        }

        // The same ROC-AUC computed here from the score file: loss per byte = mean loss × tokens / bytes.
        var labels = File.ReadLines(data.Noisy).Select(l => JsonDocument.Parse(l).RootElement)
            .ToDictionary(r => r.GetProperty("id").GetString()!, r => r.GetProperty("label").GetString() == "noisy");
        var rows = File.ReadLines(data.NoisyScores).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(r => r.GetProperty("n_tokens").GetInt64() > 0).ToList();
        var perByte = rows
            .Select(r => r.GetProperty("loss_mean").GetDouble() * r.GetProperty("n_tokens").GetInt64()
                         / r.GetProperty("n_bytes").GetInt64())
            .ToArray();
        var truth = rows.Select(r => labels[r.GetProperty("id").GetString()!]).ToArray();
        var median = perByte.Order().ElementAt(perByte.Length / 2);
        methods.GetProperty("loss_per_byte").GetProperty("auroc").GetDouble().Should().BeApproximately(RocAuc(perByte, truth), 1e-12);
        methods.GetProperty("loss_per_byte_two_sided").GetProperty("auroc").GetDouble()
            .Should().BeApproximately(RocAuc(perByte.Select(x => Math.Abs(x - median)).ToArray(), truth), 1e-12);
        var meanLoss = methods.GetProperty("mean_loss").GetProperty("auroc").GetDouble();
        RocAuc(perByte, truth).Should().NotBe(meanLoss, "per byte is not per token");

        // A score file written before `lm score` counted bytes (and so before it measured compression ratios and order
        // gains) still reads; the per-byte, compression and order methods are left out, with a note.
        methods.TryGetProperty("compression_ratio", out _).Should().BeTrue("current score files carry the ratio");
        methods.TryGetProperty("order_gain", out _).Should().BeTrue("and the order gain");
        var old = Path.Combine(data.Directory, "old-scores.jsonl");
        File.WriteAllLines(old, File.ReadLines(data.NoisyScores).Select(l =>
        {
            var row = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(l)!;
            row.Remove("n_bytes");
            row.Remove("compression_ratio");
            row.Remove("order_gain");
            return JsonSerializer.Serialize(row);
        }));
        var withoutBytes = CliRunner.Run("eval", "noise-detection", "--scores", old, "--corpus", data.Noisy, "--json");
        withoutBytes.ExitCode.Should().Be(0, withoutBytes.Stderr);
        withoutBytes.Stderr.Should().Contain("without n_bytes").And.Contain("per-byte methods are left out");
        var oldMethods = JsonDocument.Parse(withoutBytes.Stdout).RootElement.GetProperty("methods");
        oldMethods.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo(["gmm", "mean_loss", "variance", "mean_loss_two_sided"]);
        oldMethods.GetProperty("mean_loss").GetProperty("auroc").GetDouble().Should().Be(meanLoss);
    }

    [Fact]
    public void Reference_scores_anchor_the_labels_as_the_reference_scored_by_the_model_does()
    {
        var byModel = Json(CliRunner.Run("eval", "noise-detection", "--model", data.Proxy, "--corpus", data.Noisy,
            "--reference", data.Clean, "--json"));
        var byScores = Json(CliRunner.Run("eval", "noise-detection", "--model", data.Proxy, "--corpus", data.Noisy,
            "--reference-scores", data.CleanScores, "--json"));
        var withoutModel = Json(CliRunner.Run("eval", "noise-detection", "--scores", data.NoisyScores, "--corpus", data.Noisy,
            "--reference-scores", data.CleanScores, "--json"));
        byModel.GetProperty("label_rule").GetString().Should().Be("reference");
        var anchored = byModel.GetProperty("methods").GetProperty("gmm");
        foreach (var metric in Metrics.Append("noisy_labelled_hard"))
        {
            var expected = anchored.GetProperty(metric).GetDouble();
            byScores.GetProperty("methods").GetProperty("gmm").GetProperty(metric).GetDouble().Should().Be(expected, metric);
            // Scored in other batches by `lm score`, the statistics differ from the model's in the last digits only.
            withoutModel.GetProperty("methods").GetProperty("gmm").GetProperty(metric).GetDouble()
                .Should().BeApproximately(expected, 1e-6, metric);
        }
        withoutModel.GetProperty("methods").GetProperty("gmm").GetProperty("flagged").GetInt32()
            .Should().Be(anchored.GetProperty("flagged").GetInt32());
        withoutModel.GetProperty("label_rules").GetProperty("reference").EnumerateObject().Select(p => p.Name)
            .Should().BeEquivalentTo(GmmFeatureSetting.All.Select(f => f.Name));
        Json(CliRunner.Run("eval", "noise-detection", "--scores", data.NoisyScores, "--corpus", data.Noisy, "--json"))
            .GetProperty("label_rule").GetString().Should().Be("atypical", "without a reference gmm is named by the unanchored rule");

        CliRunner.Run("eval", "noise-detection", "--model", data.Proxy, "--corpus", data.Noisy, "--reference", data.Clean,
            "--reference-scores", data.CleanScores).Stderr.Should().Contain("not both");
        CliRunner.Run("eval", "noise-detection", "--scores", data.NoisyScores, "--corpus", data.Noisy, "--reference", data.Clean).Stderr
            .Should().Contain("--reference-scores");
    }

    [Fact]
    public void Labellings_report_the_share_of_noisy_documents_they_call_hard()
    {
        var report = Json(CliRunner.Run("eval", "noise-detection", "--model", data.Proxy, "--corpus", data.Noisy, "--reference", data.Clean,
            "--json"));
        var noisy = report.GetProperty("noisy").GetInt32();
        foreach (var method in new[] { "gmm", "gmm_unanchored" })
        {
            var m = report.GetProperty("methods").GetProperty(method);
            var hard = m.GetProperty("noisy_labelled_hard").GetDouble();
            (hard * noisy).Should().BeApproximately(Math.Round(hard * noisy), 1e-9, $"{method}: a share of the {noisy} noisy documents");
            (hard + m.GetProperty("noisy_recall").GetDouble())
                .Should().BeLessThanOrEqualTo(1 + 1e-12, $"{method}: no document is labelled both hard and noisy");
        }
        report.GetProperty("methods").GetProperty("mean_loss").TryGetProperty("noisy_labelled_hard", out _)
            .Should().BeFalse("a baseline has no labels");
        report.GetProperty("label_rules").GetProperty("reference").GetProperty(report.GetProperty("transform").GetString()!)
            .GetProperty("noisy_labelled_hard").GetDouble()
            .Should().Be(report.GetProperty("methods").GetProperty("gmm_components").GetProperty("noisy_labelled_hard").GetDouble(),
                "gmm_components is the chosen rule's labelling without the document-level detector");
    }

    [Fact]
    public void With_a_reference_gmm_decides_per_document_and_the_component_labels_are_reported_beside_it()
    {
        var report = Json(CliRunner.Run("eval", "noise-detection", "--scores", data.NoisyScores, "--corpus", data.Noisy,
            "--reference-scores", data.CleanScores, "--json"));
        var novelty = report.GetProperty("novelty");
        novelty.GetProperty("reference_documents").GetInt32().Should().Be(80);
        novelty.GetProperty("estimated_noise_share").GetDouble().Should().BeInRange(0, 0.95);
        novelty.GetProperty("neighbours").GetInt32().Should().Be(ReferenceNovelty.DefaultNeighbours);
        var methods = report.GetProperty("methods");
        methods.GetProperty("gmm").GetProperty("flagged").GetInt32().Should().Be(report.GetProperty("flagged_noisy_by_gmm").GetInt32(),
            "the baselines' budget is what gmm flags");
        methods.TryGetProperty("gmm_components", out _).Should().BeTrue();

        var unanchored = Json(CliRunner.Run("eval", "noise-detection", "--scores", data.NoisyScores, "--corpus", data.Noisy, "--json"));
        unanchored.GetProperty("novelty").ValueKind.Should().Be(JsonValueKind.Null, "without a reference there is no detector");
        unanchored.GetProperty("methods").TryGetProperty("gmm_components", out _).Should().BeFalse();
    }

    [Fact]
    public void Several_corpora_report_each_corpus_as_alone_and_every_methods_worst_case()
    {
        var run = CliRunner.Run("eval", "noise-detection", "--model", data.Proxy, "--corpus", $"first={data.Noisy}",
            "--corpus", data.Noisy2, "--json");
        run.ExitCode.Should().Be(0, run.Stderr);
        var report = JsonDocument.Parse(run.Stdout).RootElement;
        var corpora = report.GetProperty("corpora");
        corpora.EnumerateObject().Select(p => p.Name).Should().Equal("first", "noisy2");

        // Each corpus's object is what a run over that corpus alone prints.
        var alone = Json(CliRunner.Run("eval", "noise-detection", "--model", data.Proxy, "--corpus", data.Noisy2, "--json"));
        alone.TryGetProperty("corpora", out _).Should().BeFalse("one corpus prints the single-corpus object");
        foreach (var method in alone.GetProperty("methods").EnumerateObject())
        foreach (var metric in Metrics)
            corpora.GetProperty("noisy2").GetProperty("methods").GetProperty(method.Name).GetProperty(metric).GetRawText()
                .Should().Be(method.Value.GetProperty(metric).GetRawText(), $"{method.Name}/{metric}");

        var worst = report.GetProperty("worst_case");
        var methods = alone.GetProperty("methods").EnumerateObject().Select(p => p.Name).ToList();
        worst.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo(methods);
        var differing = 0;
        foreach (var method in worst.EnumerateObject())
        {
            var perCorpus = corpora.EnumerateObject()
                .Select(c => (c.Name, Method: c.Value.GetProperty("methods").GetProperty(method.Name))).ToList();
            foreach (var metric in Metrics)
            {
                // Precision is NaN (a string) where a method flagged nothing; the minimum leaves it out.
                var values = perCorpus.Select(c => c.Method.GetProperty(metric)).Where(v => v.ValueKind == JsonValueKind.Number)
                    .Select(v => v.GetDouble()).ToList();
                method.Value.GetProperty(metric).GetDouble()
                    .Should().Be(values.Min(), $"{method.Name}/{metric} is the minimum over the corpora");
            }
            var aurocs = perCorpus.Select(c => (c.Name, Auroc: c.Method.GetProperty("auroc").GetDouble())).ToList();
            method.Value.GetProperty("worst_corpus").GetString().Should().Be(aurocs.MinBy(c => c.Auroc).Name, method.Name);
            method.Value.GetProperty("corpora").GetInt32().Should().Be(2);
            if (aurocs[0].Auroc != aurocs[1].Auroc) differing++;
        }
        differing.Should().BePositive("the corpora differ, so the minimum is not simply either one");
        var order = worst.EnumerateObject().Select(p => p.Value.GetProperty("auroc").GetDouble()).ToList();
        order.Should().BeInAscendingOrder("the worst method comes first");

        var summary = CliRunner.Run("eval", "noise-detection", "--model", data.Proxy, "--corpus", $"first={data.Noisy}",
            "--corpus", data.Noisy2, "--summary");
        summary.ExitCode.Should().Be(0, summary.Stderr);
        var lines = summary.Stdout.Split('\n');
        foreach (var corpus in new[] { "first", "noisy2" })
        {
            lines.Count(l => l.StartsWith(corpus + " ", StringComparison.Ordinal))
                .Should().Be(methods.Count, $"one line per method of {corpus}");
        }
        summary.Stdout.Should().Contain("worst case over 2 corpora")
            .And.NotContain("GMM label rule x features", "the summary leaves out each corpus's tables");
    }

    private static JsonElement Json(CliRunner.Result run)
    {
        run.ExitCode.Should().Be(0, run.Stderr);
        return JsonDocument.Parse(run.Stdout).RootElement;
    }

    /// <summary>ROC-AUC by counting pairs: the share of (noisy, clean) pairs the score orders right, ties counting one half.</summary>
    private static double RocAuc(double[] score, bool[] noisy)
    {
        double right = 0;
        long pairs = 0;
        for (var i = 0; i < score.Length; i++)
        for (var j = 0; j < score.Length; j++)
        {
            if (!noisy[i] || noisy[j]) continue;
            pairs++;
            right += score[i] > score[j] ? 1 : score[i] == score[j] ? 0.5 : 0;
        }
        return right / pairs;
    }

    /// <summary>A clean corpus with some characters of several UTF-8 bytes, two corruptions of it, a tiny proxy trained on
    /// it, and `lm score` files of the clean corpus and the first corruption.</summary>
    public sealed class NoisyCorpora : IDisposable
    {
        private readonly CliRunner.TempDirectory _dir = new();

        public NoisyCorpora()
        {
            var rng = new Random(1);
            string[] words =
                ["alpha", "beta", "gamma", "delta", "tensor", "loss", "token", "model", "score", "batch", "café", "größe", "naïve"];
            File.WriteAllLines(Clean, Enumerable.Range(0, 80).Select(i => JsonSerializer.Serialize(new
            {
                id = $"doc-{i}",
                text = string.Join(i % 2 == 0 ? " " : ", ",
                    Enumerable.Range(0, 60 + rng.Next(60)).Select(_ => words[rng.Next(words.Length)])),
            })));
            Check(CliRunner.Run("proxy", "train", "--corpus", Clean, "--preset", "tiny", "--vocab-size", "300", "--steps", "6",
                "--batch", "4", "--seq", "32", "--out", Proxy));
            Check(CliRunner.Run("corpus", "corrupt", "--in", Clean, "--out", Noisy, "--fraction", "0.25", "--seed", "2"));
            Check(CliRunner.Run("corpus", "corrupt", "--in", Clean, "--out", Noisy2, "--fraction", "0.3", "--seed", "5"));
            Check(CliRunner.Run("lm", "score", "--model", Proxy, "--corpus", Clean, "--out", CleanScores));
            Check(CliRunner.Run("lm", "score", "--model", Proxy, "--corpus", Noisy, "--out", NoisyScores));
        }

        public string Directory => _dir.Path;

        public string Clean => Path.Combine(_dir.Path, "clean.jsonl");

        public string CleanScores => Path.Combine(_dir.Path, "clean-scores.jsonl");

        public string Noisy => Path.Combine(_dir.Path, "noisy.jsonl");

        public string NoisyScores => Path.Combine(_dir.Path, "noisy-scores.jsonl");

        public string Noisy2 => Path.Combine(_dir.Path, "noisy2.jsonl");

        public string Proxy => Path.Combine(_dir.Path, "proxy");

        private static void Check(CliRunner.Result run)
        {
            if (run.ExitCode != 0) throw new InvalidOperationException($"fixture step failed: {run.Stderr}");
        }

        public void Dispose() => _dir.Dispose();
    }
}
