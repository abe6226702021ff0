using System.Text;
using FluentAssertions;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Scoring;
using Reweighting.Scorer.Pipeline;
using Reweighting.Statistics;
using Reweighting.Text.Tokenization;
using Reweighting.Torch;
using Xunit;

namespace Reweighting.Scorer.Tests;

public sealed class ProxyScorerTests
{
    [Fact]
    public void Documents_start_with_end_of_text_so_their_first_token_is_scored()
    {
        using var scorer = TinyProxy.Load();
        var eot = BpeTokenizer.Load(TinyProxy.Directory).EndOfTextId;

        var tokens = scorer.Tokenise("fox");
        var score = scorer.Score([tokens])[0];

        tokens[0].Should().Be(eot);
        score.Statistics.Count.Should().Be(tokens.Length - 1);
        score.Statistics.Count.Should().BeGreaterThan(0);
    }

    [Fact]
    public void A_long_document_is_scored_over_all_its_tokens_and_cut_into_windows_that_predict_each_token_once()
    {
        using var scorer = TinyProxy.Load(windowBatchSize: 3);
        var text = string.Join(' ', Corpus.Texts(8, seed: 5));
        var tokens = scorer.Tokenise(text);
        tokens.Length.Should().BeGreaterThan(3 * TinyProxy.ContextLength, "the document needs several windows");

        var score = scorer.Score([scorer.Tokenise("short one."), tokens])[1];

        // The same statistics as the plain document scorer over the same tokens.
        using var model = Checkpoint.LoadModel(TinyProxy.Directory);
        var reference = new DocumentScorer(model, Device.Cpu, 16).Score([tokens.Select(t => (long)t).ToArray()]).Single();
        var expected = LossStatistics.Of(reference.Losses);
        score.Statistics.Count.Should().Be(tokens.Length - 1);
        score.Statistics.Mean.Should().BeApproximately(expected.Mean, 1e-5);
        score.Statistics.Variance.Should().BeApproximately(expected.Variance, 1e-5);

        var windows = score.Windows.ToArrays();
        windows.Should().OnlyContain(w => w.Length >= 2 && w.Length <= TinyProxy.ContextLength + 1);
        windows.Sum(w => w.Length - 1).Should().Be(tokens.Length - 1, "each prediction is in exactly one window");
        windows.Select((w, i) => i == 0 ? w : w[1..]).SelectMany(w => w).Should().Equal(tokens, "windows overlap by the one token that links them");
    }

    [Fact]
    public void Packing_short_and_long_documents_by_token_budget_gives_the_statistics_of_one_window_per_pass()
    {
        var texts = Corpus.Texts(40, seed: 12).ToList();
        texts.Add(string.Join(' ', Corpus.Texts(6, seed: 13))); // several windows
        using var packed = ProxyScorer.Load(TinyProxy.Directory, Device.Cpu, new ScoringBatches { TokenBudget = 4 * TinyProxy.ContextLength }, prependEndOfText: true);
        using var alone = TinyProxy.Load(windowBatchSize: 1);
        var documents = texts.Select(packed.Tokenise).ToList();

        var scores = packed.Score(documents);
        var expected = alone.Score(documents);

        for (var i = 0; i < documents.Count; i++)
        {
            scores[i].Statistics.Count.Should().Be(expected[i].Statistics.Count);
            scores[i].Statistics.Mean.Should().BeApproximately(expected[i].Statistics.Mean, 1e-5, $"document {i}");
            scores[i].Statistics.Variance.Should().BeApproximately(expected[i].Statistics.Variance, 1e-5, $"document {i}");
        }
        packed.Statistics.Rows.Should().Be(alone.Statistics.Rows);
        packed.Statistics.Batches.Should().BeLessThan(alone.Statistics.Batches / 4, "several short windows share each pass");
    }

    [Theory]
    [InlineData("fox")]
    [InlineData("café naïve — 東京 😀 the quick brown fox.")]
    public void After_end_of_text_the_scored_bytes_are_the_utf8_bytes_of_the_text(string text)
    {
        using var scorer = TinyProxy.Load();

        var score = scorer.Score([scorer.Tokenise(text)])[0];

        var bytes = Encoding.UTF8.GetByteCount(text);
        score.Statistics.Bytes.Should().Be(bytes);
        score.Statistics.LossPerByte.Should().BeApproximately(score.Statistics.Mean * score.Statistics.Count / bytes, 1e-12);
    }

    [Fact]
    public void A_long_document_has_the_bytes_and_loss_per_byte_of_its_windows_merged()
    {
        using var scorer = TinyProxy.Load(windowBatchSize: 3);
        var text = string.Join(' ', Corpus.Texts(8, seed: 5)) + " naïve 東京";
        var tokens = scorer.Tokenise(text);
        var tokenizer = BpeTokenizer.Load(TinyProxy.Directory);

        var score = scorer.Score([tokens])[0];

        // Each window scored on its own, its statistics over the tokens it predicts, then merged.
        using var model = Checkpoint.LoadModel(TinyProxy.Directory);
        var windows = score.Windows.ToArrays();
        windows.Should().HaveCountGreaterThan(3);
        var merged = LossStatistics.Empty;
        foreach (var window in windows)
        {
            var losses = new DocumentScorer(model, Device.Cpu, 1).Score([window.Select(t => (long)t).ToArray()]).Single().Losses;
            merged = merged.Merge(LossStatistics.Of(losses, tokenizer.CountBytes(window.AsSpan(1))));
        }
        score.Statistics.Bytes.Should().Be(merged.Bytes).And.Be(Encoding.UTF8.GetByteCount(text));
        score.Statistics.Count.Should().Be(merged.Count);
        score.Statistics.LossPerByte.Should().BeApproximately(merged.LossPerByte, 1e-5);
        score.Statistics.BytesPerToken.Should().Be(merged.BytesPerToken);
    }

    [Fact]
    public void Without_end_of_text_a_one_token_document_has_nothing_to_score()
    {
        using var scorer = TinyProxy.Load(prependEndOfText: false);
        var tokens = scorer.Tokenise("a");

        var score = scorer.Score([tokens])[0];

        tokens.Should().HaveCount(1);
        score.Statistics.Count.Should().Be(0);
        score.Statistics.Bytes.Should().Be(0, "the first token is not predicted, so its bytes are not scored");
        score.Windows.Count.Should().Be(0);
    }
}
