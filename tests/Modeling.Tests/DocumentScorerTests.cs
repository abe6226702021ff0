using FluentAssertions;
using Reweighting.Modeling.Evaluation;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Scoring;
using Reweighting.Torch;
using Xunit;
using static Reweighting.Torch.Torch;

namespace Reweighting.Modeling.Tests;

public sealed class DocumentScorerTests
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
