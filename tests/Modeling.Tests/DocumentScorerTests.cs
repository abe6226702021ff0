using FluentAssertions;
using Reweighting.Modeling.Evaluation;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Scoring;
using Reweighting.Torch;
using Xunit;
using Xunit.Abstractions;
using static Reweighting.Torch.Torch;

namespace Reweighting.Modeling.Tests;

public sealed class DocumentScorerTests(ITestOutputHelper output)
{
    [Fact]
    public void Batched_scoring_returns_every_documents_losses_in_order_as_if_scored_alone()
    {
        using var model = new GptModel(new GptConfig(20, 8, 1, 2, 16), seed: 4);
        model.Eval();
        var rng = new Random(6);
        var docs = new List<IReadOnlyList<long>>
        {
            Enumerable.Range(0, 5).Select(_ => (long)rng.Next(20)).ToArray(),
            new long[] { 3 },                                                  // one token: no prediction
            Enumerable.Range(0, 30).Select(_ => (long)rng.Next(20)).ToArray(), // longer than the context
            Array.Empty<long>(),
            Enumerable.Range(0, 9).Select(_ => (long)rng.Next(20)).ToArray(),
        };
        var scored = new DocumentScorer(model, Device.Cpu, batchSize: 3).Score(docs).ToList();
        scored.Select(d => d.Index).Should().Equal(0, 1, 2, 3, 4);
        scored.Select(d => d.Losses.Length).Should().Equal(4, 0, 29, 0, 8);
        for (var i = 0; i < docs.Count; i++)
        {
            var alone = new DocumentScorer(model, Device.Cpu, batchSize: 1).Score([docs[i]]).Single().Losses;
            TestSupport.ShouldBeClose(scored[i].Losses.Select(v => (double)v).ToArray(), alone.Select(v => (double)v).ToArray(), 1e-5, $"document {i}");
        }
        // A document that fits one window is scored exactly as one forward pass over it.
        using var scope = DisposeScope.Open();
        var d0 = docs[0].ToArray();
        var direct = model.TokenLosses(FromArray(d0[..^1], 1, 4), FromArray(d0[1..], 1, 4)).ToArray<float>();
        TestSupport.ShouldBeClose(scored[0].Losses.Select(v => (double)v).ToArray(), direct.Select(v => (double)v).ToArray(), 1e-5, "direct");
    }

    /// <summary>Token counts of a skewed mix: mostly short documents, some several contexts long, a few with no
    /// prediction at all.</summary>
    private static List<IReadOnlyList<long>> Mix(int count, int context, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var length = rng.NextDouble() switch
            {
                < 0.05 => rng.Next(0, 2),                    // empty or one token: nothing to score
                < 0.70 => rng.Next(2, context / 2),          // short
                < 0.90 => rng.Next(context / 2, context + 2), // about one window
                _ => rng.Next(2 * context, 5 * context),     // several windows
            };
            return (IReadOnlyList<long>)Enumerable.Range(0, length).Select(_ => (long)rng.Next(20)).ToArray();
        }).ToList();
    }

    [Theory]
    [InlineData(8, 24, null, 2)]  // stride < context: later windows keep context they do not score
    [InlineData(5, 40, 3, 1)]
    [InlineData(8, 5, null, 4)]   // budget below the context: full windows run alone
    public void Token_budget_batches_give_every_document_the_losses_it_gets_alone_in_input_order(int stride, int budget, int? maxRows, int lookahead)
    {
        using var model = new GptModel(new GptConfig(20, 8, 1, 2, 16), seed: 4);
        model.Eval();
        var docs = Mix(60, context: 8, seed: 11);
        var scorer = new DocumentScorer(model, Device.Cpu, new ScoringBatches { TokenBudget = budget, MaxRows = maxRows, LookaheadBudgets = lookahead }, stride);

        var scored = scorer.Score(docs).ToList();

        scored.Select(d => d.Index).Should().Equal(Enumerable.Range(0, docs.Count), "documents come out in input order");
        scored.Select(d => d.Losses.Length).Should().Equal(docs.Select(d => Math.Max(0, d.Count - 1)));
        var alone = new DocumentScorer(model, Device.Cpu, new ScoringBatches { TokenBudget = 1, MaxRows = 1 }, stride);
        for (var i = 0; i < docs.Count; i++)
        {
            var expected = alone.Score([docs[i]]).Single().Losses;
            TestSupport.ShouldBeClose(scored[i].Losses.Select(v => (double)v).ToArray(), expected.Select(v => (double)v).ToArray(), 1e-5, $"document {i} ({docs[i].Count} tokens)");
        }
        var windows = docs.SelectMany((d, i) => TokenWindows.Plan(d, 8, stride, i)).ToList();
        scorer.Statistics.Rows.Should().Be(windows.Count, "every window runs once");
        scorer.Statistics.Tokens.Should().Be(windows.Sum(w => (long)w.Inputs.Length));
        alone.Statistics.PaddingFraction.Should().Be(0, "a batch of one window has no padding");
    }

    [Fact]
    public void A_batch_never_exceeds_the_token_budget_or_the_row_limit_unless_it_is_one_window_longer_than_the_budget()
    {
        var rng = new Random(3);
        var windows = Enumerable.Range(0, 500).Select(i =>
        {
            var length = rng.Next(1, 65);
            return new TokenWindow(i, new long[length], new long[length]);
        }).ToList();
        foreach (var (budget, maxRows) in new (int, int?)[] { (100, null), (256, 6), (40, null), (64, 1) })
        {
            var batches = new ScoringBatches { TokenBudget = budget, MaxRows = maxRows }.Cut(windows).ToList();

            batches.SelectMany(b => b).Select(w => w.Document).Order().Should().Equal(Enumerable.Range(0, windows.Count), "every window is in exactly one batch");
            foreach (var batch in batches)
            {
                var padded = batch.Length * batch.Max(w => w.Inputs.Length);
                if (batch.Length > 1) padded.Should().BeLessThanOrEqualTo(budget, $"budget {budget}");
                else if (padded > budget) batch[0].Inputs.Length.Should().BeGreaterThan(budget, "only a window longer than the budget may exceed it");
                batch.Length.Should().BeLessThanOrEqualTo(maxRows ?? int.MaxValue);
            }
        }
    }

    [Fact]
    public void A_skewed_mix_wastes_far_less_on_padding_than_fixed_rows_in_input_order()
    {
        const int context = 32, rows = 8;
        using var model = new GptModel(new GptConfig(20, context, 1, 2, 16), seed: 4);
        var docs = Mix(400, context, seed: 5);
        // The old batching: `rows` windows at a time, in input order, padded to the batch's longest.
        var windows = docs.SelectMany((d, i) => TokenWindows.Plan(d, context, context, i)).ToList();
        var inOrder = ScoringStatistics.Of(windows.Chunk(rows).Select(b => (IReadOnlyCollection<TokenWindow>)b));

        var packed = new DocumentScorer(model, Device.Cpu, new ScoringBatches { TokenBudget = rows * context });
        packed.Score(docs).Should().HaveCount(docs.Count);
        var sameRows = new DocumentScorer(model, Device.Cpu, batchSize: rows);
        sameRows.Score(docs).Should().HaveCount(docs.Count);

        output.WriteLine($"in order: {inOrder}; token budget {rows * context}: {packed.Statistics}; at most {rows} rows, sorted: {sameRows.Statistics}");
        packed.Statistics.Tokens.Should().Be(inOrder.Tokens);
        inOrder.PaddingFraction.Should().BeGreaterThan(0.3, "the mix is skewed enough for the comparison to mean something");
        packed.Statistics.PaddingFraction.Should().BeLessThan(inOrder.PaddingFraction / 4);
        sameRows.Statistics.PaddingFraction.Should().BeLessThan(inOrder.PaddingFraction / 4, "sorting alone removes most padding");
        packed.Statistics.Batches.Should().BeLessThan(inOrder.Batches, "short windows share a budget several to a row's worth");
    }

    [Fact]
    public void Documents_are_yielded_before_the_input_ends_once_the_look_ahead_is_full()
    {
        using var model = new GptModel(new GptConfig(20, 8, 1, 2, 16), seed: 4);
        var consumed = 0;
        IEnumerable<IReadOnlyList<long>> Many()
        {
            for (var i = 0; i < 1000; i++)
            {
                consumed++;
                yield return Enumerable.Range(i, 9).Select(t => (long)(t % 20)).ToArray(); // one full window of 8
            }
        }
        var scorer = new DocumentScorer(model, Device.Cpu, new ScoringBatches { TokenBudget = 16, LookaheadBudgets = 2 });

        using var results = scorer.Score(Many()).GetEnumerator();
        results.MoveNext().Should().BeTrue();

        results.Current.Index.Should().Be(0);
        consumed.Should().Be(4, "the look-ahead is two budgets of 16 tokens: four windows of 8");
        scorer.Score(Many()).Take(10).Select(d => d.Index).Should().Equal(Enumerable.Range(0, 10));
    }

    [Fact]
    public void Windows_remember_where_they_start_in_their_document()
    {
        var windows = TokenWindows.Plan(Enumerable.Range(0, 20).Select(i => (long)i).ToArray(), context: 8, stride: 5, document: 3).ToList();

        windows.Select(w => w.Start).Should().Equal(0, 5, 10, 15);
        windows.Should().OnlyContain(w => w.Document == 3 && w.Inputs[0] == w.Start);
    }

    [Theory]
    [InlineData(0, null, 4, "the scoring token budget must be positive, not 0")]
    [InlineData(-5, null, 4, "the scoring token budget must be positive, not -5")]
    [InlineData(16, 0, 4, "the most windows per scoring batch must be positive, not 0")]
    [InlineData(16, null, 0, "the scoring look-ahead must be at least one token budget, not 0")]
    public void Bad_batch_settings_are_rejected_with_their_name_and_value(int budget, int? maxRows, int lookahead, string message)
    {
        using var model = new GptModel(new GptConfig(20, 8, 1, 2, 16), seed: 4);
        var settings = new ScoringBatches { TokenBudget = budget, MaxRows = maxRows, LookaheadBudgets = lookahead };

        var act = () => new DocumentScorer(model, Device.Cpu, settings);

        act.Should().Throw<ArgumentException>().WithMessage(message);
        FluentActions.Invoking(() => new DocumentScorer(model, Device.Cpu, batchSize: 0)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Held_out_loss_weights_domains_by_their_token_counts()
    {
        using var model = new GptModel(new GptConfig(20, 8, 1, 2, 16), seed: 4);
        var result = HeldOutLoss.Compute(model, new Dictionary<string, IReadOnlyList<IReadOnlyList<long>>>
        {
            ["a"] = [new long[] { 1, 2, 3 }],
            ["b"] = [new long[] { 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 }],
        }, Device.Cpu);
        result["a"].Tokens.Should().Be(2);
        result["b"].Tokens.Should().Be(10);
        result["all"].Loss.Should().BeApproximately((result["a"].Loss * 2 + result["b"].Loss * 10) / 12, 1e-9);
        result["all"].Perplexity.Should().BeApproximately(Math.Exp(result["all"].Loss), 1e-9);
    }
}
