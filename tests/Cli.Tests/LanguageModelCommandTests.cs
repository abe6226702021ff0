using System.Text.Json;
using FluentAssertions;
using Reweighting.Gmm;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>The model commands end to end, as separate processes: train a proxy from a corpus, score, evaluate.</summary>
public sealed class LanguageModelCommandTests : IDisposable
{
    private readonly CliRunner.TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Corpus(int documents)
    {
        var path = Path.Combine(_dir.Path, "corpus.jsonl");
        var rng = new Random(1);
        string[] words = ["alpha", "beta", "gamma", "delta", "tensor", "loss", "token", "model", "score", "batch"];
        File.WriteAllLines(path, Enumerable.Range(0, documents).Select(i => JsonSerializer.Serialize(new
        {
            id = $"doc-{i}",
            domain = i % 2 == 0 ? "prose" : "lists",
            text = string.Join(i % 2 == 0 ? " " : ", ", Enumerable.Range(0, 60 + rng.Next(60)).Select(_ => words[rng.Next(words.Length)])),
        })).Append("{\"id\": \"empty\", \"text\": \"\"}"));
        return path;
    }

    [Fact]
    public void The_general_proxy_in_the_repository_scores_junk_as_more_surprising_per_byte_than_prose()
    {
        var model = Path.Combine(ProjectGraphTests.RepositoryRoot(), "models", "general-tiny");
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(model, "config.json"))).RootElement;
        config.GetProperty("n_layer").GetInt32().Should().Be(2, "it is the tiny preset the labelling defaults were measured with");
        config.GetProperty("vocab_size").GetInt32().Should().Be(2048);

        var rng = new Random(3);
        const string Printable = "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~";
        var prose = "The committee met on Tuesday to review the budget for the coming year. After a long discussion, the members "
                    + "agreed to fund the new library and to repair the roads in the north of the town before the winter.";
        var corpus = Path.Combine(_dir.Path, "probe.jsonl");
        File.WriteAllLines(corpus,
        [
            JsonSerializer.Serialize(new { id = "prose", text = string.Join(' ', Enumerable.Repeat(prose, 4)) }),
            JsonSerializer.Serialize(new
            {
                id = "garbage",
                text = new string([.. Enumerable.Range(0, 800).Select(_ => Printable[rng.Next(Printable.Length)])]),
            }),
        ]);
        var scores = Path.Combine(_dir.Path, "probe-scores.jsonl");

        var run = CliRunner.Run("lm", "score", "--model", model, "--corpus", corpus, "--out", scores);

        run.ExitCode.Should().Be(0, run.Stderr);
        var rows = File.ReadAllLines(scores).Select(l => JsonDocument.Parse(l).RootElement)
            .ToDictionary(r => r.GetProperty("id").GetString()!);
        double PerByte(string id) => rows[id].GetProperty("loss_mean").GetDouble() * rows[id].GetProperty("n_tokens").GetInt32()
                                     / rows[id].GetProperty("n_bytes").GetInt32();
        // An untrained model scores every token near ln 2048 = 7.6 nats; the shipped one has learnt English (6.1 here).
        rows["prose"].GetProperty("loss_mean").GetDouble().Should().BeLessThan(Math.Log(2048) - 1, "the weights are trained");
        PerByte("garbage").Should().BeGreaterThan(2 * PerByte("prose"), "a proxy trained on clean text finds random characters surprising");
    }

    [Fact]
    public void A_proxy_trained_from_a_corpus_scores_and_evaluates_documents()
    {
        var corpus = Corpus(80);
        var ckpt = Path.Combine(_dir.Path, "proxy");
        var train = CliRunner.Run("proxy", "train", "--corpus", corpus, "--preset", "tiny", "--vocab-size", "300", "--steps", "6", "--batch", "4",
            "--seq", "32", "--out", ckpt);
        train.ExitCode.Should().Be(0, train.Stderr);
        train.Stderr.Should().Contain("corpus.jsonl:81").And.Contain("skipped", "the record without text is reported with file and line");
        Directory.GetFiles(ckpt).Select(Path.GetFileName).Should().Contain(["config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json", "tokenizer.json"]);

        var scores = Path.Combine(_dir.Path, "scores.jsonl");
        var score = CliRunner.Run("lm", "score", "--model", ckpt, "--corpus", corpus, "--out", scores, "--stride", "32", "--token-budget", "128");
        score.ExitCode.Should().Be(0, score.Stderr);
        score.Stderr.Should().Contain("padding", "the batches' padding is reported");
        var rows = File.ReadAllLines(scores).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        rows.Should().HaveCount(80);
        rows[0].GetProperty("id").GetString().Should().Be("doc-0");
        rows.Should().OnlyContain(r => r.GetProperty("n_tokens").GetInt32() > 0 && r.GetProperty("loss_mean").GetDouble() > 0 && r.GetProperty("loss_var").GetDouble() >= 0);
        var texts = File.ReadLines(corpus).Select(l => JsonDocument.Parse(l).RootElement)
            .ToDictionary(r => r.GetProperty("id").GetString()!, r => r.GetProperty("text").GetString()!);
        rows.Should().OnlyContain(r => r.GetProperty("compression_ratio").GetDouble()
                                       == Reweighting.Statistics.TextCompression.Ratio(texts[r.GetProperty("id").GetString()!]));
        foreach (var row in rows)
        {
            // The order gain beside it: the text's own, null for a text without words.
            var gain = Reweighting.Statistics.WordOrder.Gain(texts[row.GetProperty("id").GetString()!]);
            var written = row.GetProperty("order_gain");
            (written.ValueKind == JsonValueKind.Null ? double.NaN : written.GetDouble()).Should().Be(gain);
        }
        rows.Should().Contain(r => r.GetProperty("order_gain").ValueKind == JsonValueKind.Number);

        // `lm score` streams its corpus; one with nothing to score still fails, and leaves no output behind.
        var empty = Path.Combine(_dir.Path, "empty.jsonl");
        File.WriteAllText(empty, "{\"id\": \"e\", \"text\": \"\"}\n");
        var nothing = CliRunner.Run("lm", "score", "--model", ckpt, "--corpus", empty, "--out", Path.Combine(_dir.Path, "none.jsonl"));
        nothing.ExitCode.Should().Be(1);
        nothing.Stderr.Should().Contain("holds no usable documents");
        File.Exists(Path.Combine(_dir.Path, "none.jsonl")).Should().BeFalse();

        var eval = CliRunner.Run("lm", "eval", "--model", ckpt, "--corpus", corpus, "--json");
        eval.ExitCode.Should().Be(0, eval.Stderr);
        var json = JsonDocument.Parse(eval.Stdout).RootElement;
        json.GetProperty("domains").EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo(["prose", "lists"]);
        json.GetProperty("perplexity").GetDouble().Should().BeApproximately(Math.Exp(json.GetProperty("loss").GetDouble()), 1e-6);
        // Every token but the first of each document is predicted once: the total equals the score file's counts.
        json.GetProperty("tokens").GetInt64().Should().Be(rows.Sum(r => r.GetProperty("n_tokens").GetInt64()));

        var tasks = Path.Combine(_dir.Path, "tasks");
        Directory.CreateDirectory(tasks);
        File.WriteAllLines(Path.Combine(tasks, "toy.jsonl"), Enumerable.Range(0, 4).Select(i =>
            JsonSerializer.Serialize(new { context = $"alpha beta {i}", choices = new[] { " gamma", " delta" }, gold = i % 2 })));
        var fewShot = CliRunner.Run("lm", "tasks", "--model", ckpt, "--tasks", tasks, "--shots", "2", "--json");
        fewShot.ExitCode.Should().Be(0, fewShot.Stderr);
        JsonDocument.Parse(fewShot.Stdout).RootElement.GetProperty("toy").GetProperty("items").GetInt32().Should().Be(4);

        var custom = Path.Combine(_dir.Path, "custom.json");
        File.WriteAllText(custom, "{\"vocab_size\": 1, \"n_positions\": 16, \"n_layer\": 1, \"n_head\": 2, \"n_embd\": 8}");
        var small = CliRunner.Run("proxy", "train", "--corpus", corpus, "--config", custom, "--tokenizer", ckpt, "--steps", "2", "--batch", "2", "--out", Path.Combine(_dir.Path, "custom"));
        small.ExitCode.Should().Be(0, small.Stderr);
        File.ReadAllText(Path.Combine(_dir.Path, "custom", "config.json")).Should().Contain("\"n_embd\": 8").And.Contain("\"vocab_size\": 300");

        var noisy = Path.Combine(_dir.Path, "noisy.jsonl");
        CliRunner.Run("corpus", "corrupt", "--in", corpus, "--out", noisy, "--fraction", "0.25", "--seed", "2").ExitCode.Should().Be(0);
        var detection = CliRunner.Run("eval", "noise-detection", "--model", ckpt, "--corpus", noisy, "--json");
        detection.ExitCode.Should().Be(0, detection.Stderr);
        var report = JsonDocument.Parse(detection.Stdout).RootElement;
        report.GetProperty("noisy").GetInt32().Should().Be(20, "a quarter of the 80 documents");
        foreach (var method in new[] { "gmm", "mean_loss", "variance" })
        {
            var m = report.GetProperty("methods").GetProperty(method);
            m.GetProperty("auroc").GetDouble().Should().BeInRange(0, 1);
            m.GetProperty("average_precision").GetDouble().Should().BeInRange(0, 1);
        }
        report.GetProperty("label_rule").GetString().Should().Be("atypical");
        report.GetProperty("transform").GetString().Should().Be(LabellingDefaults.Settings.FeatureSetting);
        var rules = report.GetProperty("label_rules");
        rules.EnumerateObject().Select(p => p.Name).Should().Contain(["atypical", "mean-loss", "variance", "mean-plus-spread"]);
        foreach (var rule in rules.EnumerateObject())
        {
            rule.Value.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo(GmmFeatureSetting.All.Select(f => f.Name), rule.Name);
            foreach (var cell in rule.Value.EnumerateObject())
            foreach (var metric in new[] { "auroc", "average_precision", "noisy_precision", "noisy_recall" })
            {
                var value = cell.Value.GetProperty(metric);
                // Precision is undefined (NaN) only when that rule flags nothing.
                if (metric == "noisy_precision" && value.ValueKind == JsonValueKind.String)
                    cell.Value.GetProperty("flagged").GetInt32().Should().Be(0, $"{rule.Name}/{cell.Name}");
                else
                    value.GetDouble().Should().BeInRange(0, 1, $"{rule.Name}/{cell.Name}/{metric}");
            }
        }
        // methods.gmm is the chosen cell of the comparison: without a reference, the unanchored rule of the shared defaults.
        report.GetProperty("label_rule").GetString().Should().Be(LabellingDefaults.Settings.UnanchoredLabelRule);
        rules.GetProperty(LabellingDefaults.Settings.UnanchoredLabelRule).GetProperty(LabellingDefaults.Settings.FeatureSetting).GetProperty("auroc").GetDouble()
            .Should().Be(report.GetProperty("methods").GetProperty("gmm").GetProperty("auroc").GetDouble());
        var variance = CliRunner.Run("eval", "noise-detection", "--model", ckpt, "--corpus", noisy, "--json", "--label-rule", "variance", "--transform", "raw");
        variance.ExitCode.Should().Be(0, variance.Stderr);
        var chosen = JsonDocument.Parse(variance.Stdout).RootElement;
        chosen.GetProperty("label_rule").GetString().Should().Be("variance");
        chosen.GetProperty("methods").GetProperty("gmm").GetProperty("average_precision").GetDouble()
            .Should().Be(chosen.GetProperty("label_rules").GetProperty("variance").GetProperty("raw").GetProperty("average_precision").GetDouble());
        CliRunner.Run("eval", "noise-detection", "--model", ckpt, "--corpus", noisy, "--label-rule", "loudest").ExitCode.Should().NotBe(0);
        CliRunner.Run("eval", "noise-detection", "--model", ckpt, "--corpus", corpus).Stderr.Should().Contain("no records with \"label\"");

        // A clean reference scored by the same model anchors methods.gmm (the shared defaults: decided per document against
        // it) and adds a rule row, the same fit's component labels (gmm_components); the fit without the reference stays
        // visible as gmm_unanchored.
        var anchored = CliRunner.Run("eval", "noise-detection", "--model", ckpt, "--corpus", noisy, "--reference", corpus, "--json");
        anchored.ExitCode.Should().Be(0, anchored.Stderr);
        anchored.Stderr.Should().Contain("scored 80 reference documents");
        var anchoredReport = JsonDocument.Parse(anchored.Stdout).RootElement;
        anchoredReport.GetProperty("label_rule").GetString().Should().Be("reference");
        anchoredReport.GetProperty("methods").GetProperty("gmm").GetProperty("auroc").GetDouble().Should().BeInRange(0, 1);
        var defaultFeatures = LabellingDefaults.Settings.FeatureSetting;
        anchoredReport.GetProperty("label_rules").GetProperty("reference").GetProperty(defaultFeatures).GetProperty("auroc").GetDouble()
            .Should().Be(anchoredReport.GetProperty("methods").GetProperty("gmm_components").GetProperty("auroc").GetDouble());
        anchoredReport.GetProperty("novelty").GetProperty("reference_documents").GetInt32().Should().Be(80);
        anchoredReport.GetProperty("label_rules").GetProperty("atypical").GetProperty(defaultFeatures).GetProperty("auroc").GetDouble()
            .Should().Be(anchoredReport.GetProperty("methods").GetProperty("gmm_unanchored").GetProperty("auroc").GetDouble());
        report.GetProperty("methods").TryGetProperty("gmm_unanchored", out _)
            .Should().BeFalse("without --reference gmm itself is unanchored");
        CliRunner.Run("eval", "noise-detection", "--scores", noisy, "--corpus", noisy, "--reference", corpus).Stderr
            .Should().Contain("--reference is scored by --model");

        var weighted = CliRunner.Run("train", "--corpus", corpus, "--tokenizer", ckpt, "--strategy", "extremes", "--temperature", "0.5", "--steps", "3",
            "--batch", "4", "--seq", "32", "--out", Path.Combine(_dir.Path, "weighted"));
        weighted.ExitCode.Should().Be(0, weighted.Stderr);
        weighted.Stderr.Should().Contain("max w·M").And.Contain("r 0.50");
        CliRunner.Run("train", "--corpus", corpus, "--strategy", "nonsense", "--steps", "1", "--out", "o").ExitCode.Should().NotBe(0);

        var resume = CliRunner.Run("proxy", "train", "--corpus", corpus, "--steps", "8", "--batch", "4", "--seq", "32", "--out", ckpt, "--resume");
        resume.ExitCode.Should().Be(0, resume.Stderr);
        File.ReadAllText(Path.Combine(ckpt, "trainer_state.json")).Should().Contain("\"step\": 8");
    }

    [Fact]
    public void A_proxy_with_cross_fitted_folds_scores_the_documents_it_trained_on_by_the_fold_that_left_them_out()
    {
        var corpus = Corpus(60);
        var ckpt = Path.Combine(_dir.Path, "proxy");
        var train = CliRunner.Run("proxy", "train", "--corpus", corpus, "--vocab-size", "300", "--steps", "8", "--batch", "4",
            "--seq", "32", "--folds", "2", "--out", ckpt);
        train.ExitCode.Should().Be(0, train.Stderr);
        train.Stderr.Should().Contain("fold 1/2").And.Contain("fold 2/2");
        var folds = Reweighting.Modeling.Checkpoints.CrossFitFolds.Load(ckpt)!;
        folds.Count.Should().Be(2);
        Directory.GetFiles(Path.Combine(ckpt, "folds", "0")).Select(Path.GetFileName).Should()
            .BeEquivalentTo(["config.json", "model.safetensors"], "a fold keeps no optimiser state");

        var texts = File.ReadLines(corpus).Select(l => JsonDocument.Parse(l).RootElement)
            .ToDictionary(r => r.GetProperty("id").GetString()!, r => r.GetProperty("text").GetString()!);
        // The proxy trained on every document but its 1-in-50 held-out ones.
        texts.Values.Count(t => folds.FoldOf(t) is null).Should().BeInRange(1, 6, "the empty record and the held-out documents");

        var scores = Path.Combine(_dir.Path, "scores.jsonl");
        CliRunner.Run("lm", "score", "--model", ckpt, "--corpus", corpus, "--out", scores).ExitCode.Should().Be(0);
        var rows = Rows(scores);
        File.ReadLines(scores).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString())
            .Should().Equal(Enumerable.Range(0, 60).Select(i => $"doc-{i}"), "rows stay in corpus order");

        // The same proxy without its folds, and each fold model as a checkpoint of its own (with the proxy's tokenizer).
        Dictionary<string, string> ScoredBy(string name, string? weights)
        {
            var copy = Path.Combine(_dir.Path, name);
            Directory.CreateDirectory(copy);
            foreach (var file in Directory.GetFiles(ckpt)) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
            if (weights is not null)
                File.Copy(Path.Combine(weights, "model.safetensors"), Path.Combine(copy, "model.safetensors"), overwrite: true);
            var output = Path.Combine(_dir.Path, name + ".jsonl");
            CliRunner.Run("lm", "score", "--model", copy, "--corpus", corpus, "--out", output).ExitCode.Should().Be(0);
            return Rows(output);
        }
        var inSample = ScoredBy("plain", null);
        var byFold = Enumerable.Range(0, 2).Select(k => ScoredBy($"fold{k}", Path.Combine(ckpt, "folds", $"{k}"))).ToList();
        // Windows are packed with other neighbours in each run, so the sums differ in the last digits.
        static double Loss(string row) => JsonDocument.Parse(row).RootElement.GetProperty("loss_mean").GetDouble();
        foreach (var (id, row) in rows)
            Loss(row).Should().BeApproximately(Loss(folds.FoldOf(texts[id]) is { } k ? byFold[k][id] : inSample[id]), 1e-6, id);
        rows.Count(r => Math.Abs(Loss(r.Value) - Loss(inSample[r.Key])) > 1e-4).Should()
            .BeGreaterThan(50, "the documents it trained on are scored out of fold");

        var none = CliRunner.Run("proxy", "train", "--corpus", corpus, "--vocab-size", "300", "--steps", "2", "--batch", "4",
            "--seq", "32", "--folds", "0", "--out", Path.Combine(_dir.Path, "nofolds"));
        none.ExitCode.Should().Be(0, none.Stderr);
        Directory.Exists(Path.Combine(_dir.Path, "nofolds", "folds")).Should().BeFalse();
        var one = CliRunner.Run("proxy", "train", "--corpus", corpus, "--steps", "2", "--folds", "1",
            "--out", Path.Combine(_dir.Path, "o"));
        one.ExitCode.Should().NotBe(0);
        one.Stderr.Should().Contain("--folds must be 0 (none) or at least 2, not 1");
    }

    private static Dictionary<string, string> Rows(string path) =>
        File.ReadLines(path).ToDictionary(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()!, l => l);

    [Fact]
    public void Bad_arguments_fail_with_a_message_and_a_non_zero_exit()
    {
        var missing = CliRunner.Run("lm", "score", "--model", Path.Combine(_dir.Path, "none"), "--corpus", "x", "--out", "y");
        missing.ExitCode.Should().NotBe(0);
        missing.Stderr.Should().Contain("not a checkpoint");

        var noBudget = CliRunner.Run("lm", "score", "--model", Path.Combine(_dir.Path, "none"), "--corpus", "x", "--out", "y", "--token-budget", "0");
        noBudget.ExitCode.Should().NotBe(0);
        noBudget.Stderr.Should().Contain("token budget must be positive, not 0", "settings are checked before the model is loaded");

        var noCorpus = CliRunner.Run("proxy", "train", "--corpus", Path.Combine(_dir.Path, "absent.jsonl"), "--steps", "5", "--out", Path.Combine(_dir.Path, "o"));
        noCorpus.ExitCode.Should().NotBe(0);
        noCorpus.Stderr.Should().Contain("does not exist");

        var zeroSteps = CliRunner.Run("proxy", "train", "--corpus", Corpus(4), "--steps", "0", "--out", Path.Combine(_dir.Path, "o"));
        zeroSteps.ExitCode.Should().NotBe(0);
        zeroSteps.Stderr.Should().Contain("steps must be positive");

        var badPreset = CliRunner.Run("proxy", "train", "--corpus", "c", "--steps", "1", "--out", "o", "--preset", "huge");
        badPreset.ExitCode.Should().NotBe(0);

        var custom = Path.Combine(_dir.Path, "custom.json");
        File.WriteAllText(custom, "{\"vocab_size\": 1, \"n_positions\": 16, \"n_layer\": 1, \"n_head\": 3, \"n_embd\": 8}");
        var badConfig = CliRunner.Run("proxy", "train", "--corpus", Corpus(4), "--steps", "1", "--out", Path.Combine(_dir.Path, "o"), "--config", custom, "--vocab-size", "260");
        badConfig.ExitCode.Should().NotBe(0);
        badConfig.Stderr.Should().Contain("multiple of n_head");

        CliRunner.Run("lm", "--help").Stdout.Should().Contain("score").And.Contain("eval").And.Contain("tasks");
    }
}

/// <summary>`lm import` turns a Hugging Face GPT-2 directory into a checkpoint the other commands use.</summary>
public sealed class ImportCommandTests : IDisposable
{
    private readonly CliRunner.TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_hugging_face_directory_imports_into_a_checkpoint_that_scores_like_the_original()
    {
        using var model = new Reweighting.Modeling.Gpt.GptModel(new Reweighting.Modeling.Gpt.GptConfig(300, 16, 1, 2, 8), seed: 3);
        var tokenizer = Reweighting.Text.Tokenization.BpeTrainer.Train(["alpha beta gamma delta alpha beta"], 300);
        var original = Path.Combine(_dir.Path, "original");
        var tokenizerDir = Path.Combine(_dir.Path, "tok");
        tokenizer.Save(tokenizerDir);
        Reweighting.Modeling.Checkpoints.Checkpoint.Save(original, model, tokenizerDir);

        // The Hugging Face layout: "transformer." names, Conv1D weights as (in, out), GPT-2 tokenizer files.
        var hf = Path.Combine(_dir.Path, "hf");
        Directory.CreateDirectory(hf);
        var tensors = model.StateDict().ToDictionary(kv => "transformer." + kv.Key,
            kv => kv.Key.EndsWith("c_attn.weight") || kv.Key.EndsWith("c_proj.weight") || kv.Key.EndsWith("c_fc.weight")
                ? kv.Value.Transpose(0, 1).Contiguous() : kv.Value);
        Reweighting.Modeling.Checkpoints.SafeTensors.Save(Path.Combine(hf, "model.safetensors"), tensors);
        File.WriteAllText(Path.Combine(hf, "config.json"), "{\"model_type\":\"gpt2\",\"vocab_size\":300,\"n_positions\":16,\"n_layer\":1,\"n_head\":2,\"n_embd\":8}");
        Reweighting.Text.Tokenization.Gpt2VocabularyFiles.Write(tokenizer, Path.Combine(hf, "vocab.json"), Path.Combine(hf, "merges.txt"));

        var imported = Path.Combine(_dir.Path, "imported");
        var run = CliRunner.Run("lm", "import", "--from", hf, "--out", imported);
        run.ExitCode.Should().Be(0, run.Stderr);

        var corpus = Path.Combine(_dir.Path, "c.jsonl");
        File.WriteAllText(corpus, "{\"id\":\"a\",\"text\":\"alpha beta gamma delta gamma beta alpha\"}\n");
        var a = CliRunner.Run("lm", "eval", "--model", original, "--corpus", corpus, "--json");
        var b = CliRunner.Run("lm", "eval", "--model", imported, "--corpus", corpus, "--json");
        b.ExitCode.Should().Be(0, b.Stderr);
        b.Stdout.Should().Be(a.Stdout, "the imported weights and tokenizer reproduce the original's losses exactly");

        CliRunner.Run("lm", "import", "--from", Path.Combine(_dir.Path, "absent"), "--out", imported).ExitCode.Should().NotBe(0);
    }
}
