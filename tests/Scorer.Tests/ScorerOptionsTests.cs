using FluentAssertions;
using Reweighting.Modeling.Scoring;
using Xunit;

namespace Reweighting.Scorer.Tests;

public sealed class ScorerOptionsTests
{
    [Fact]
    public void By_default_the_proxy_packs_windows_into_token_budget_batches_without_a_row_limit()
    {
        var options = new ScorerOptions();

        options.Problem().Should().BeNull();
        options.WindowBatches.Should().Be(new ScoringBatches { TokenBudget = 16_384, MaxRows = null });
        (options with { WindowTokenBudget = 4096, WindowBatchSize = 16 }).WindowBatches
            .Should().Be(new ScoringBatches { TokenBudget = 4096, MaxRows = 16 }, "WindowBatchSize still caps the rows of a forward pass");
    }

    [Theory]
    [InlineData(0, null, "Scorer:WindowTokenBudget must be positive, not 0")]
    [InlineData(-1, 16, "Scorer:WindowTokenBudget must be positive, not -1")]
    [InlineData(4096, 0, "Scorer:WindowBatchSize must be positive, not 0")]
    public void Bad_window_batch_settings_are_named_in_the_start_up_error(int tokenBudget, int? rows, string message)
    {
        var options = new ScorerOptions { WindowTokenBudget = tokenBudget, WindowBatchSize = rows };

        options.Problem().Should().Be(message);
        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>().WithMessage(message);
    }
}
