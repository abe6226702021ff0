using System.Text;
using System.Text.Json;
using FluentAssertions;
using Reweighting.Contracts.Batches;
using Reweighting.Contracts.Documents;
using Xunit;

namespace Reweighting.Contracts.Tests;

public class DeadLetterRecordTests
{
    [Fact]
    public void A_dead_letter_round_trips_with_its_original_bytes_intact()
    {
        var value = new byte[] { 0x7B, 0xFF, 0x00, 0xC3 }; // not UTF-8: must survive byte for byte
        var record = new DeadLetterRecord(DeadLetterReason.InvalidUtf8, "bad byte at offset 1", Topics.Documents, 3, 123_456_789_012,
            Encoding.UTF8.GetBytes("doc-1"), value, new DateTimeOffset(2025, 1, 2, 3, 4, 5, 678, TimeSpan.Zero), "scorer-a");

        var back = DeadLetterRecord.FromUtf8Json(record.ToUtf8Json());

        back.Should().BeEquivalentTo(record);
        back.Value.Should().Equal(value);
    }

    [Fact]
    public void A_record_without_key_or_value_keeps_them_null()
    {
        var record = DeadLetterRecord.For(new DeadLetter(DeadLetterReason.NotJson, "empty"), Topics.Documents, 0, 0, null, null,
            DateTimeOffset.UnixEpoch);

        var json = Encoding.UTF8.GetString(record.ToUtf8Json());
        var back = DeadLetterRecord.FromUtf8Json(Encoding.UTF8.GetBytes(json));

        json.Should().Contain("\"key\":null").And.Contain("\"value\":null").And.Contain("\"reason\":\"not-json\"");
        back.Key.Should().BeNull();
        back.Value.Should().BeNull();
        back.RejectedBy.Should().BeNull();
    }

    [Fact]
    public void The_json_uses_the_documented_field_names()
    {
        var record = new DeadLetterRecord(DeadLetterReason.EmptyText, "m", "documents", 1, 2, [0x61], [0x62],
            new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.FromHours(2)), "s1");

        using var doc = JsonDocument.Parse(record.ToUtf8Json());

        doc.RootElement.EnumerateObject().Select(p => p.Name).Should()
            .Equal("reason", "message", "topic", "partition", "offset", "key", "value", "rejected_at", "rejected_by");
        doc.RootElement.GetProperty("reason").GetString().Should().Be("empty-text");
        doc.RootElement.GetProperty("key").GetString().Should().Be("YQ==");
        doc.RootElement.GetProperty("rejected_at").GetString().Should().Be("2025-06-01T10:00:00+00:00");
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"reason":"not-json"}""")]
    [InlineData("""{"reason":"no-such-reason","message":"m","topic":"t","partition":0,"offset":0,"rejected_at":"2025-01-01T00:00:00Z"}""")]
    [InlineData("""{"reason":"not-json","message":"m","topic":"t","partition":"zero","offset":0,"rejected_at":"2025-01-01T00:00:00Z"}""")]
    [InlineData("""{"reason":"not-json","message":"m","topic":"t","partition":0,"offset":0,"key":"%%%","rejected_at":"2025-01-01T00:00:00Z"}""")]
    public void Reading_something_that_is_not_a_dlq_record_throws_invalid_data(string json)
    {
        var act = () => DeadLetterRecord.FromUtf8Json(Encoding.UTF8.GetBytes(json));

        act.Should().Throw<InvalidDataException>();
    }

    [Fact]
    public void Every_reason_has_a_distinct_kebab_case_code_that_parses_back()
    {
        var codes = DeadLetterReasons.All.Select(r => r.ToWire()).ToList();

        codes.Should().OnlyHaveUniqueItems().And.AllSatisfy(c => c.Should().MatchRegex("^[a-z0-9]+(-[a-z0-9]+)*$"));
        DeadLetterReasons.All.Should().BeEquivalentTo(Enum.GetValues<DeadLetterReason>());
        DeadLetterReasons.All.Select(r => DeadLetterReasons.Parse(r.ToWire())).Should().Equal(DeadLetterReasons.All);
        codes.Should().Contain(["not-json", "not-an-object", "missing-id", "id-mismatch", "empty-text", "oversize-text", "invalid-utf8", "wrong-field-type"]);
    }

    [Fact]
    public void A_scored_batch_dead_letter_round_trips_in_the_same_json_as_a_document_one()
    {
        var value = new byte[] { 0x52, 0x57, 0x53, 0x42, 0xFF };
        var record = new ScoredBatchDeadLetterRecord(ScoredBatchRejection.OutsideVocabulary, "token id 70000", Topics.ScoredBatches, 0, 42,
            Encoding.UTF8.GetBytes("00000000-0000-0000-0000-000000000001"), value, new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero), "run-1");

        var json = record.ToUtf8Json();
        using var doc = JsonDocument.Parse(json);
        var back = ScoredBatchDeadLetterRecord.FromUtf8Json(json);

        back.Should().BeEquivalentTo(record);
        back.Value.Should().Equal(value);
        doc.RootElement.EnumerateObject().Select(p => p.Name).Should()
            .Equal("reason", "message", "topic", "partition", "offset", "key", "value", "rejected_at", "rejected_by");
        doc.RootElement.GetProperty("reason").GetString().Should().Be("outside-vocabulary");
    }

    [Fact]
    public void A_document_dead_letter_is_not_read_as_a_scored_batch_one()
    {
        var document = new DeadLetterRecord(DeadLetterReason.NotJson, "m", Topics.Documents, 0, 0, null, null, DateTimeOffset.UnixEpoch);

        var act = () => ScoredBatchDeadLetterRecord.FromUtf8Json(document.ToUtf8Json());

        act.Should().Throw<InvalidDataException>().WithMessage("not a scored-batches.dlq record: 'not-json' is not a scored-batch rejection*");
    }

    [Fact]
    public void Every_scored_batch_rejection_has_a_distinct_kebab_case_code_that_parses_back()
    {
        var codes = ScoredBatchRejections.All.Select(r => r.ToWire()).ToList();

        codes.Should().Equal("undecodable", "outside-vocabulary");
        ScoredBatchRejections.All.Should().BeEquivalentTo(Enum.GetValues<ScoredBatchRejection>());
        ScoredBatchRejections.All.Select(r => ScoredBatchRejections.Parse(r.ToWire())).Should().Equal(ScoredBatchRejections.All);
    }
}
