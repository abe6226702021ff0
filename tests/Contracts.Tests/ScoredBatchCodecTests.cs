using System.Buffers.Binary;
using FluentAssertions;
using FluentAssertions.Equivalency;
using Reweighting.Contracts.Batches;
using Xunit;

namespace Reweighting.Contracts.Tests;

public class ScoredBatchCodecTests
{
    private static void ShouldRoundTrip(ScoredBatch batch)
    {
        var bytes = ScoredBatchCodec.Encode(batch);
        var back = ScoredBatchCodec.Decode(bytes);

        back.Should().BeEquivalentTo(batch, Windows);
        for (var i = 0; i < batch.Documents.Count; i++)
            back.Documents[i].Windows.Should().Be(batch.Documents[i].Windows, $"document {i}'s windows");
        ScoredBatchCodec.Encode(back).Should().Equal(bytes, "decoding and re-encoding gives the same bytes");
    }

    private static EquivalencyAssertionOptions<ScoredBatch> Windows(EquivalencyAssertionOptions<ScoredBatch> o) =>
        o.Excluding(m => m.Path.EndsWith("Windows")).WithStrictOrdering();

    [Fact]
    public void A_small_batch_round_trips()
    {
        ShouldRoundTrip(SampleBatches.Small());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Batches_with_any_number_of_components_round_trip(int components)
    {
        var docs = Enumerable.Range(0, 4)
            .Select(i => SampleBatches.Document($"doc-{i}", components, [i, i + 1, i + 2]))
            .ToList();

        ShouldRoundTrip(new ScoredBatch(Guid.NewGuid(), "m", components == 0 ? null : 7, SampleBatches.CreatedAt, components, docs));
    }

    [Fact]
    public void An_empty_batch_round_trips()
    {
        ShouldRoundTrip(new ScoredBatch(Guid.Empty, "m", null, DateTimeOffset.UnixEpoch, 0, []));
    }

    [Fact]
    public void Empty_windows_and_documents_without_windows_round_trip()
    {
        ShouldRoundTrip(new ScoredBatch(Guid.NewGuid(), "m", 1, SampleBatches.CreatedAt, 1,
        [
            SampleBatches.Document("no-windows", 1),
            SampleBatches.Document("empty-windows", 1, [], [], []),
            SampleBatches.Document("mixed", 1, [], [5], [], [6, 7], []),
        ]));
    }

    [Fact]
    public void Token_ids_at_every_varint_width_up_to_int_max_round_trip()
    {
        int[] edges = [0, 1, 127, 128, 16_383, 16_384, 50_256, 50_257, 2_097_151, 2_097_152, 268_435_455, 268_435_456, int.MaxValue - 1, int.MaxValue];
        var vocab = Enumerable.Range(0, 50_257).ToArray(); // every GPT-2 token id

        ShouldRoundTrip(new ScoredBatch(Guid.NewGuid(), "m", 0, SampleBatches.CreatedAt, 3,
            [SampleBatches.Document("ids", 3, edges, vocab, edges.Reverse().ToArray())]));
    }

    [Fact]
    public void Unicode_ids_domains_and_model_names_round_trip()
    {
        var doc = SampleBatches.Document("文書-😀-ü\u200d", 2, [1, 2]) with { Domain = "кириллица" };

        ShouldRoundTrip(new ScoredBatch(Guid.NewGuid(), "proxy/🤖-124M", 2, SampleBatches.CreatedAt, 2, [doc]));
    }

    [Fact]
    public void Statistics_keep_full_double_precision_and_extreme_values()
    {
        var doc = SampleBatches.Document("x", 2, [1]) with
        {
            LossMean = Math.PI,
            LossVariance = double.Epsilon,
            TokenCount = int.MaxValue,
            Confidence = 0f,
            Responsibilities = [1f, 0f],
        };
        var doc2 = doc with { Id = "y", LossMean = -1e300, LossVariance = double.MaxValue, Confidence = 1f, Label = SampleLabel.Easy };

        ShouldRoundTrip(new ScoredBatch(Guid.NewGuid(), "m", int.MaxValue, SampleBatches.CreatedAt, 2, [doc, doc2]));
    }

    [Fact]
    public void Scored_bytes_round_trip_from_one_to_beyond_four_gigabytes_and_as_unknown()
    {
        var docs = new long?[] { 1, 17, int.MaxValue, 5L << 32, long.MaxValue, null }
            .Select((bytes, i) => SampleBatches.Document($"d{i}", 2, [i]) with { ScoredBytes = bytes })
            .ToList();

        ShouldRoundTrip(new ScoredBatch(Guid.NewGuid(), "m", 1, SampleBatches.CreatedAt, 2, docs));
    }

    [Theory]
    [InlineData(0L, 17, "*scored bytes 0 is not positive*")]
    [InlineData(-3L, 17, "*scored bytes -3 is not positive*")]
    [InlineData(12L, 0, "*12 scored bytes but no scored token*")]
    public void Scored_bytes_that_are_not_positive_or_have_no_tokens_are_refused(long bytes, int tokens, string message)
    {
        var doc = SampleBatches.Document("d", 1, [1]) with { ScoredBytes = bytes, TokenCount = tokens };

        var act = () => ScoredBatchCodec.Encode(new ScoredBatch(Guid.NewGuid(), "m", 1, SampleBatches.CreatedAt, 1, [doc]));

        act.Should().Throw<ArgumentException>().WithMessage(message);
    }

    [Fact]
    public void Sample_scores_keep_unknown_scored_bytes_unknown()
    {
        var scores = SampleBatches.Small().ToSampleScores().ToList();

        scores.Select(s => s.ScoredBytes).Should().Equal(9L, null);
    }

    [Fact]
    public void Created_at_keeps_microseconds_in_utc()
    {
        var local = new DateTimeOffset(2025, 7, 1, 9, 30, 0, TimeSpan.FromHours(5.5)).AddTicks(1_234_567);
        var batch = SampleBatches.Small() with { CreatedAt = local };

        var back = ScoredBatchCodec.Decode(ScoredBatchCodec.Encode(batch));

        back.CreatedAt.Offset.Should().Be(TimeSpan.Zero);
        back.CreatedAt.Should().Be(local.AddTicks(-7), "sub-microsecond ticks are dropped, the instant is kept");
    }

    [Fact]
    public void Token_ids_cost_about_two_bytes_each_for_a_gpt2_vocabulary()
    {
        var random = new Random(7);
        var tokens = Enumerable.Range(0, 10_000).Select(_ => random.Next(50_257)).ToArray();
        var batch = new ScoredBatch(Guid.NewGuid(), "m", 0, SampleBatches.CreatedAt, 2, [SampleBatches.Document("d", 2, tokens)]);

        var size = ScoredBatchCodec.Encode(batch).Length;

        // uniform ids over 50257: about 1/3 take 2 bytes, 2/3 take 3; still well under int32's 4 bytes.
        size.Should().BeLessThan(3 * tokens.Length);
    }

    [Fact]
    public void The_header_can_be_read_without_decoding_the_documents()
    {
        var batch = SampleBatches.Small();

        var header = ScoredBatchCodec.ReadHeader(ScoredBatchCodec.Encode(batch));

        header.Should().Be(new ScoredBatchHeader(1, 3, batch.BatchId, "gpt2-proxy", 3, SampleBatches.CreatedAt, 2, 2));
    }

    [Fact]
    public void Sample_scores_carry_the_batch_fields()
    {
        var batch = SampleBatches.Small();

        var scores = batch.ToSampleScores().ToList();

        scores.Should().HaveCount(2);
        scores[0].Should().BeEquivalentTo(new SampleScore("d1", "gpt2-proxy", 4, 9, 2.5, 0.25, [0.5, 0.5], SampleLabel.Easy, 0.5, 3,
            batch.BatchId, SampleBatches.CreatedAt, CompressionRatio: 0.5, OrderGain: 0.125));
    }

    [Fact]
    public void Order_gains_of_zero_and_below_stay_known_and_only_an_unknown_one_is_null()
    {
        // An order gain of exactly 0 is a measurement (a shuffle that compresses to the same size); the wire's unknown is
        // +0.0, so the encoder writes a measured 0 as -0.0.
        var documents = new double?[] { 0.0, -0.003, null, 0.2 }
            .Select((gain, i) => SampleBatches.Document($"doc-{i}", 1, [i]) with { CompressionRatio = 0.4, OrderGain = gain }).ToList();
        var batch = new ScoredBatch(Guid.NewGuid(), "m", 1, SampleBatches.CreatedAt, 1, documents);

        ShouldRoundTrip(batch);
        var bytes = ScoredBatchCodec.Encode(batch);
        var back = ScoredBatchCodec.Decode(bytes);

        back.Documents.Select(d => d.OrderGain).Should().Equal(0.0, -0.003, null, 0.2);
        double.IsNegative(back.Documents[0].OrderGain!.Value).Should().BeFalse("a decoded zero is the plain 0");
        var firstRecord = ScoredBatchCodec.PreambleBytes + (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(6)) + 4;
        var firstRecordEnd = firstRecord + (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(firstRecord - 4));
        Convert.ToHexString(bytes.AsSpan(firstRecordEnd - 8, 8)).Should().Be("0000000000000080", "-0.0, little-endian");
        FluentActions.Invoking(() => ScoredBatchCodec.Encode(batch with
        {
            Documents = [documents[0] with { OrderGain = double.NaN }],
        })).Should().Throw<ArgumentException>().WithMessage("*order gain NaN is not a finite number*");
    }

    [Fact]
    public void The_kafka_key_is_the_batch_id_in_its_text_form()
    {
        System.Text.Encoding.UTF8.GetString(ScoredBatchCodec.EncodeKey(Guid.Parse("00112233-4455-6677-8899-aabbccddeeff")))
            .Should().Be("00112233-4455-6677-8899-aabbccddeeff");
    }

    public static TheoryData<string, Func<ScoredBatch, ScoredBatch>> InvalidBatches() => new()
    {
        { "empty model", b => b with { ScorerModel = "" } },
        { "negative GMM version", b => b with { GmmVersion = -1 } },
        { "too many components", b => b with { Components = ScoredBatchCodec.MaxComponents + 1 } },
        { "responsibility count differs from K", b => b with { Components = 3 } },
        { "empty document id", b => Replace(b, d => d with { Id = "" }) },
        { "negative token count", b => Replace(b, d => d with { TokenCount = -1 }) },
        { "NaN loss mean", b => Replace(b, d => d with { LossMean = double.NaN }) },
        { "infinite loss mean", b => Replace(b, d => d with { LossMean = double.PositiveInfinity }) },
        { "negative variance", b => Replace(b, d => d with { LossVariance = -0.1 }) },
        { "unknown label", b => Replace(b, d => d with { Label = (SampleLabel)3 }) },
        { "confidence above 1", b => Replace(b, d => d with { Confidence = 1.01f }) },
        { "NaN confidence", b => Replace(b, d => d with { Confidence = float.NaN }) },
        { "negative responsibility", b => Replace(b, d => d with { Responsibilities = [-0.1f, 1f] }) },
        { "lone surrogate in id", b => Replace(b, d => d with { Id = "a\ud800" }) },
    };

    private static ScoredBatch Replace(ScoredBatch b, Func<ScoredDocument, ScoredDocument> change) =>
        b with { Documents = [change(b.Documents[0]), .. b.Documents.Skip(1)] };

    [Theory]
    [MemberData(nameof(InvalidBatches))]
    public void Encoding_refuses_a_batch_that_breaks_the_contract(string name, Func<ScoredBatch, ScoredBatch> breakIt)
    {
        var act = () => ScoredBatchCodec.Encode(breakIt(SampleBatches.Small()));

        act.Should().Throw<ArgumentException>(name);
    }

    [Fact]
    public void Windowed_tokens_refuse_inconsistent_offsets_and_negative_ids()
    {
        ((Action)(() => new WindowedTokens([1, 2], [0, 3]))).Should().Throw<ArgumentException>().WithMessage("*last window offset*");
        ((Action)(() => new WindowedTokens([1, 2], [1, 2]))).Should().Throw<ArgumentException>().WithMessage("*start with 0*");
        ((Action)(() => new WindowedTokens([1, 2], [0, 2, 1, 2]))).Should().Throw<ArgumentException>().WithMessage("*must not decrease*");
        ((Action)(() => WindowedTokens.FromWindows([1, -2]))).Should().Throw<ArgumentException>().WithMessage("*negative*");
    }

    [Fact]
    public void Windowed_tokens_index_their_windows()
    {
        var w = WindowedTokens.FromWindows([1, 2, 3], [], [4]);

        w.Count.Should().Be(3);
        w.TokenCount.Should().Be(4);
        w[0].ToArray().Should().Equal(1, 2, 3);
        w[1].Length.Should().Be(0);
        w[2].ToArray().Should().Equal(4);
        w.ToArrays().Should().BeEquivalentTo(new[] { new[] { 1, 2, 3 }, [], new[] { 4 } }, o => o.WithStrictOrdering());
        w.Should().Be(WindowedTokens.FromWindows([1, 2, 3], [], [4])).And.NotBe(WindowedTokens.FromWindows([1, 2, 3], [4]));
    }
}
