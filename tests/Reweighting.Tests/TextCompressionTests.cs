using FluentAssertions;
using Reweighting.Statistics;
using Xunit;

namespace Reweighting.Tests;

/// <summary>The compression ratio the document-level detector uses beside the loss features.</summary>
public sealed class TextCompressionTests
{
    private const string Prose =
        "The committee met on Tuesday to review the budget. Several members asked whether the new library could open before " +
        "winter, and the treasurer explained that the contractor had been delayed by the rain in October. After a long " +
        "discussion they agreed to publish the revised schedule next month, together with the costs of heating the old hall.";

    [Fact]
    public void Text_that_repeats_itself_compresses_far_below_prose_and_random_characters_barely_compress()
    {
        var stuffing = string.Join(", ", Enumerable.Range(0, 40).Select(i => i % 3 == 0 ? "cheap shoes near me" : "best shoes online"));
        var random = new Random(5);
        var garbage = new string(Enumerable.Range(0, Prose.Length).Select(_ => (char)random.Next(33, 127)).ToArray());

        var repeated = TextCompression.Ratio(stuffing);
        var prose = TextCompression.Ratio(Prose);
        var noise = TextCompression.Ratio(garbage);

        repeated.Should().BeLessThan(0.15);
        prose.Should().BeInRange(0.4, 0.8);
        noise.Should().BeGreaterThan(0.8);
        TextCompression.Ratio(Prose).Should().Be(prose, "the same text always has the same ratio");
    }

    [Fact]
    public void Empty_text_has_no_ratio_and_a_document_keeps_its_ratio_when_its_windows_merge()
    {
        TextCompression.Ratio("").Should().Be(double.NaN);
        var first = new LossStatistics(10, 2.0, 5.0, 40, Compression: 0.5);
        var second = new LossStatistics(6, 3.0, 1.0, 30);

        first.Merge(second).Compression.Should().Be(0.5);
        second.Merge(first).Compression.Should().Be(0.5);
        LossStatistics.Of([1f, 2f], 8).Compression.Should().Be(double.NaN, "a window does not know its document's ratio");
    }
}
