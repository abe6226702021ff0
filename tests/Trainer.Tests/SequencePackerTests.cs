using FluentAssertions;
using Reweighting.Objectives;
using Reweighting.Trainer.Streaming;
using Xunit;

namespace Reweighting.Trainer.Tests;

public sealed class SequencePackerTests
{
    private static readonly Guid A = Guid.NewGuid(), B = Guid.NewGuid();

    [Fact]
    public void Documents_are_separated_by_end_of_text_and_cut_every_T_tokens_with_next_token_targets()
    {
        var packer = new SequencePacker(4, endOfText: 99);
        packer.Add(A, [1, 2, 3], 1, 0);
        packer.Add(A, [99, 4, 5, 6, 7], 2, 0); // the scorer put the separator first already
        packer.Seal(A).Should().BeFalse();
        // Stream: 99 1 2 3 99 4 5 6 7 (9 tokens): two sequences of 4 need 9.
        packer.CanTake(2).Should().BeTrue();
        var s = packer.Take(2);
        s.Inputs.Should().Equal(99, 1, 2, 3, 99, 4, 5, 6);
        s.Targets.Should().Equal(1, 2, 3, 99, 4, 5, 6, 7);
        packer.CanTake(1).Should().BeFalse();
    }

    [Fact]
    public void A_document_is_rebuilt_from_windows_that_repeat_the_previous_last_token()
    {
        // The scorer's windows of context 3: tokens[0..4), tokens[3..7), tokens[6..8).
        var windows = Reweighting.Contracts.Batches.WindowedTokens.FromWindows([10, 11, 12, 13], [13, 14, 15, 16], [16, 17]);
        DocumentTokens.Of(windows, overlap: 1).Should().Equal(10, 11, 12, 13, 14, 15, 16, 17);
        DocumentTokens.Of(windows, overlap: 0).Should().HaveCount(10);
    }

    [Fact]
    public void A_sequence_inside_one_document_carries_its_statistics_and_one_spanning_two_combines_them()
    {
        var packer = new SequencePacker(4, endOfText: 0);
        packer.Add(A, [1, 2, 3, 4, 5, 6, 7], 2.0, 0.5); // 8 tokens with end-of-text
        packer.Add(B, [1, 2, 3, 4, 5], 4.0, 1.0); // 6 tokens
        var s = packer.Take(3);
        // Row 0 targets positions 1..4 (all A); row 1 positions 5..8 (3 of A, 1 of B); row 2 positions 9..12 (B).
        s.Statistics.Means[0].Should().Be(2.0);
        s.Statistics.Variances[0].Should().Be(0.5);
        var (mean, variance) = SampleStats.Combine([(3, 2.0, 0.5), (1, 4.0, 1.0)]);
        mean.Should().BeApproximately(2.5, 1e-12);
        // Law of total variance: (3(0.5 + 0.25) + 1(1 + 2.25)) / 4.
        variance.Should().BeApproximately((3 * 0.75 + 3.25) / 4, 1e-12);
        s.Statistics.Means[1].Should().BeApproximately(mean, 1e-12);
        s.Statistics.Variances[1].Should().BeApproximately(variance, 1e-12);
        s.Statistics.Means[2].Should().Be(4.0);
    }

    [Fact]
    public void A_batch_completes_with_the_sequence_that_trains_its_last_token()
    {
        var packer = new SequencePacker(4, endOfText: 0);
        packer.Add(A, [1, 2, 3, 4], 1, 0); // 5 tokens: positions 0..4
        packer.Seal(A);
        packer.Add(B, [1, 2, 3, 4, 5, 6, 7, 8], 1, 0); // positions 5..13
        packer.Seal(B);
        // Targets 1..4: A's last token (position 4) is trained, and stays as the next row's first input.
        packer.Take(1).CompletedBatches.Should().Equal(A);
        packer.Take(1).CompletedBatches.Should().BeEmpty(); // targets 5..8
        packer.Take(1).CompletedBatches.Should().BeEmpty(); // targets 9..12: B's last token (13) waits for more tokens
        var packer2 = new SequencePacker(4, endOfText: 0);
        packer2.Add(A, [1, 2, 3], 1, 0); // positions 0..3
        packer2.Seal(A);
        packer2.Add(B, [1, 2, 3, 4, 5, 6, 7, 8], 1, 0);
        packer2.Seal(B);
        packer2.Take(1).CompletedBatches.Should().Equal(A);
        packer2.Take(1).CompletedBatches.Should().BeEmpty();
        packer2.Take(1).CompletedBatches.Should().Equal(B); // positions 9..12: B ends at 12
        packer2.CanTake(1).Should().BeFalse();
    }

    [Fact]
    public void A_batch_without_tokens_is_complete_at_once()
    {
        var packer = new SequencePacker(4, endOfText: 0);
        packer.Seal(A).Should().BeTrue();
    }

    [Fact]
    public void A_restored_packer_cuts_what_the_original_would_have()
    {
        var rng = new Random(5);
        var original = new SequencePacker(5, endOfText: 0);
        for (var d = 0; d < 12; d++)
        {
            var id = Guid.NewGuid();
            original.Add(id, Enumerable.Range(0, rng.Next(1, 9)).Select(_ => rng.Next(1, 50)).ToArray(), rng.NextDouble(), rng.NextDouble());
            original.Seal(id);
        }
        original.Take(3);
        var restored = new SequencePacker(5, endOfText: 0);
        restored.Load(System.Text.Json.JsonSerializer.Deserialize<PackerState>(System.Text.Json.JsonSerializer.Serialize(original.Save()))!);
        restored.AvailableTokens.Should().Be(original.AvailableTokens);
        while (original.CanTake(1))
        {
            var a = original.Take(1);
            var b = restored.Take(1);
            b.Inputs.Should().Equal(a.Inputs);
            b.Targets.Should().Equal(a.Targets);
            b.Statistics.Means.Should().Equal(a.Statistics.Means);
            b.CompletedBatches.Should().Equal(a.CompletedBatches);
        }
        restored.CanTake(1).Should().BeFalse();
    }

    [Fact]
    public void The_validation_split_is_a_stable_hash_of_the_id()
    {
        // SHA-256("doc-1")[0..8] big-endian / 2^64, computed independently (Python hashlib).
        ValidationSplit.Position("doc-1").Should().BeApproximately(0.7306870988724924, 1e-15);
        ValidationSplit.Position("web-000123").Should().BeApproximately(0.11665694318724325, 1e-15);
        ValidationSplit.IsValidation("web-000123", 0.12).Should().BeTrue();
        ValidationSplit.IsValidation("web-000123", 0.11).Should().BeFalse();
        ValidationSplit.IsValidation("web-000123", 0).Should().BeFalse();
    }

    [Fact]
    public void Deduplication_remembers_the_most_recent_ids()
    {
        var d = new BatchDeduplicator(2);
        d.FirstSight(A).Should().BeTrue();
        d.FirstSight(A).Should().BeFalse();
        d.FirstSight(B).Should().BeTrue();
        var c = Guid.NewGuid();
        d.FirstSight(c).Should().BeTrue(); // A falls out of the window
        d.Contains(A).Should().BeFalse();
        var restored = new BatchDeduplicator(2);
        restored.Load(d.Save());
        restored.FirstSight(B).Should().BeFalse();
        restored.FirstSight(c).Should().BeFalse();
    }
}
