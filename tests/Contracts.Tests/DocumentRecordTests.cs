using System.Text;
using System.Text.Json;
using FluentAssertions;
using Reweighting.Contracts.Documents;
using Xunit;

namespace Reweighting.Contracts.Tests;

public class DocumentRecordTests
{
    private static readonly DocumentLimits Limits = DocumentLimits.Default;

    private static DocumentParseResult Parse(string json, string? key = null, DocumentLimits? limits = null) =>
        DocumentRecord.Parse(Encoding.UTF8.GetBytes(json), key, limits ?? Limits);

    [Fact]
    public void A_full_record_round_trips_through_its_json()
    {
        using var meta = JsonDocument.Parse("""{"url":"https://example.org/ü","tags":["a","b"],"n":3,"nested":{"x":null}}""");
        var record = new DocumentRecord("doc-ü-😀-1", "Grüße, 世界! \"quoted\"\n\ttab \\ 😀", "web", "crawl-2024", meta.RootElement);

        var parsed = DocumentRecord.Parse(record.ToUtf8Json(), record.Id, Limits);

        parsed.IsValid.Should().BeTrue(parsed.DeadLetter?.ToString());
        parsed.Record.Should().Be(record);
        parsed.Record!.Meta!.Value.GetProperty("tags")[1].GetString().Should().Be("b");
    }

    [Fact]
    public void The_store_view_hashes_the_utf8_text_and_never_splits_a_surrogate_pair_in_the_snippet()
    {
        var record = new DocumentRecord("d", "ab😀cd", "web", "s");

        var doc = record.ToDocument(snippetChars: 3, keepText: false);

        doc.Should().BeEquivalentTo(new Document("d", "web", "s",
            System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes("ab😀cd")), 6, "ab"));
        record.ToDocument(4, keepText: true).Should().Match<Document>(d => d.Snippet == "ab😀" && d.Text == "ab😀cd");
        record.ToDocument(100, keepText: false).Snippet.Should().Be("ab😀cd");
    }

    [Fact]
    public void A_minimal_record_leaves_optional_fields_out_of_its_json()
    {
        var record = new DocumentRecord("7", "hello");

        record.ToJson().Should().Be("""{"id":"7","text":"hello"}""");
        Parse(record.ToJson()).Record.Should().Be(record);
    }

    [Fact]
    public void Json_keeps_non_ascii_text_as_utf8_rather_than_escapes()
    {
        var json = new DocumentRecord("a", "日本語のテキスト").ToJson();

        json.Should().Contain("日本語のテキスト").And.NotContain("\\u");
    }

    [Fact]
    public void Records_with_different_meta_are_not_equal_and_equal_meta_compares_structurally()
    {
        using var a = JsonDocument.Parse("""{"x":1,"y":[1,2]}""");
        using var b = JsonDocument.Parse("""{"x":1, "y":[1, 2]}""");
        using var c = JsonDocument.Parse("""{"x":2}""");

        new DocumentRecord("i", "t", meta: a.RootElement).Should().Be(new DocumentRecord("i", "t", meta: b.RootElement));
        new DocumentRecord("i", "t", meta: a.RootElement).Should().NotBe(new DocumentRecord("i", "t", meta: c.RootElement));
        new DocumentRecord("i", "t", meta: a.RootElement).Should().NotBe(new DocumentRecord("i", "t"));
    }

    [Fact]
    public void Meta_survives_the_disposal_of_the_document_it_came_from()
    {
        DocumentRecord record;
        using (var doc = JsonDocument.Parse("""{"k":"v"}""")) record = new DocumentRecord("i", "t", meta: doc.RootElement);

        record.Meta!.Value.GetProperty("k").GetString().Should().Be("v");
    }

    [Fact]
    public void A_meta_that_is_not_an_object_is_refused_by_the_constructor()
    {
        using var doc = JsonDocument.Parse("[1]");

        var act = () => new DocumentRecord("i", "t", meta: doc.RootElement);

        act.Should().Throw<ArgumentException>().WithMessage("*meta must be a JSON object*");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("d1")]
    public void A_missing_empty_or_matching_key_is_accepted(string? key)
    {
        Parse("""{"id":"d1","text":"x"}""", key).IsValid.Should().BeTrue();
    }

    [Fact]
    public void Unknown_fields_of_any_type_are_ignored()
    {
        var result = Parse("""{"lang":"en","score":0.5,"id":"d","extra":{"deep":[1,{"a":null}]},"text":"t","flag":true,"n":null}""");

        result.Record.Should().Be(new DocumentRecord("d", "t"));
    }

    [Fact]
    public void Null_and_empty_optional_fields_read_as_absent()
    {
        Parse("""{"id":"d","text":"t","domain":null,"source":"","meta":null}""").Record.Should().Be(new DocumentRecord("d", "t"));
    }

    [Fact]
    public void Escaped_field_names_and_values_are_understood()
    {
        Parse("""{"\u0069d":"d\u00fc","te\u0078t":"line\nnext \ud83d\ude00"}""").Record
            .Should().Be(new DocumentRecord("dü", "line\nnext 😀"));
    }

    [Fact]
    public void A_leading_byte_order_mark_is_tolerated()
    {
        var bytes = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes("""{"id":"d","text":"t"}""")).ToArray();

        DocumentRecord.Parse(bytes, "d", Limits).IsValid.Should().BeTrue();
    }

    [Fact]
    public void Text_exactly_at_the_limits_is_accepted_and_one_more_is_refused()
    {
        var limits = new DocumentLimits { MaxTextChars = 5, MaxTextBytes = 10 };

        Parse("""{"id":"d","text":"abcde"}""", limits: limits).IsValid.Should().BeTrue();
        Parse("""{"id":"d","text":"abcdef"}""", limits: limits).DeadLetter!.Reason.Should().Be(DeadLetterReason.OversizeText);
        // 5 characters but 10 UTF-8 bytes (2 each): at the byte limit; one more byte is over it.
        Parse("""{"id":"d","text":"üüüüü"}""", limits: limits).IsValid.Should().BeTrue();
        Parse("""{"id":"d","text":"üüüü€"}""", limits: limits with { MaxTextChars = 100 }).DeadLetter!.Message.Should().Contain("11 UTF-8 bytes");
        // Escapes count as the bytes they decode to, not the bytes they take in the JSON.
        Parse("""{"id":"d","text":"\u00fc\u00fc\u00fc\u00fc\u00fc"}""", limits: limits).IsValid.Should().BeTrue();
    }

    [Fact]
    public void Invalid_limits_are_a_configuration_error_not_a_dead_letter()
    {
        var act = () => Parse("""{"id":"d","text":"t"}""", limits: new DocumentLimits { MaxTextBytes = 0 });

        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*MaxTextBytes*");
    }

    public static TheoryData<string, string, string?, DeadLetterReason> BadRecords()
    {
        var data = new TheoryData<string, string, string?, DeadLetterReason>
        {
            { "empty value", "", null, DeadLetterReason.NotJson },
            { "whitespace only", "  \n ", null, DeadLetterReason.NotJson },
            { "plain text", "hello world", null, DeadLetterReason.NotJson },
            { "truncated object", """{"id":"d","text":"t" """, null, DeadLetterReason.NotJson },
            { "trailing garbage", """{"id":"d","text":"t"} x""", null, DeadLetterReason.NotJson },
            { "two values", """{"id":"d","text":"t"}{"id":"e","text":"u"}""", null, DeadLetterReason.NotJson },
            { "comment", """{"id":"d", /* c */ "text":"t"}""", null, DeadLetterReason.NotJson },
            { "trailing comma", """{"id":"d","text":"t",}""", null, DeadLetterReason.NotJson },
            { "field problem then bad syntax", """{"id":5,"text":""", null, DeadLetterReason.NotJson },
            { "array", """[{"id":"d","text":"t"}]""", null, DeadLetterReason.NotAnObject },
            { "string", "\"text\"", null, DeadLetterReason.NotAnObject },
            { "number", "42", null, DeadLetterReason.NotAnObject },
            { "null", "null", null, DeadLetterReason.NotAnObject },
            { "no id", """{"text":"t"}""", null, DeadLetterReason.MissingId },
            { "null id", """{"id":null,"text":"t"}""", null, DeadLetterReason.MissingId },
            { "empty id", """{"id":"","text":"t"}""", null, DeadLetterReason.InvalidId },
            { "blank id", """{"id":"  ","text":"t"}""", null, DeadLetterReason.InvalidId },
            { "id with a control character", """{"id":"a\u0001b","text":"t"}""", null, DeadLetterReason.InvalidId },
            { "id over the limit", $$"""{"id":"{{new string('x', 513)}}","text":"t"}""", null, DeadLetterReason.InvalidId },
            { "key differs from id", """{"id":"d","text":"t"}""", "e", DeadLetterReason.IdMismatch },
            { "key differs only in case", """{"id":"Doc","text":"t"}""", "doc", DeadLetterReason.IdMismatch },
            { "no text", """{"id":"d"}""", null, DeadLetterReason.MissingText },
            { "null text", """{"id":"d","text":null}""", null, DeadLetterReason.MissingText },
            { "empty text", """{"id":"d","text":""}""", null, DeadLetterReason.EmptyText },
            { "blank text", """{"id":"d","text":" \n\t "}""", null, DeadLetterReason.EmptyText },
            { "NUL in text", """{"id":"d","text":"a\u0000b"}""", null, DeadLetterReason.NulInText },
            { "oversize text", $$"""{"id":"d","text":"{{new string('x', 8 * 1024 * 1024 + 1)}}"}""", null, DeadLetterReason.OversizeText },
            { "oversize record", $$"""{"id":"d","text":"t","pad":"{{new string('x', 16 * 1024 * 1024)}}"}""", null, DeadLetterReason.OversizeRecord },
            { "lone surrogate escape in text", """{"id":"d","text":"a\ud800b"}""", null, DeadLetterReason.InvalidUtf8 },
            { "lone surrogate escape in id", """{"id":"\udc00","text":"t"}""", null, DeadLetterReason.InvalidUtf8 },
            { "numeric id", """{"id":5,"text":"t"}""", null, DeadLetterReason.WrongFieldType },
            { "array text", """{"id":"d","text":["t"]}""", null, DeadLetterReason.WrongFieldType },
            { "numeric domain", """{"id":"d","text":"t","domain":1}""", null, DeadLetterReason.WrongFieldType },
            { "boolean source", """{"id":"d","text":"t","source":true}""", null, DeadLetterReason.WrongFieldType },
            { "array meta", """{"id":"d","text":"t","meta":[1]}""", null, DeadLetterReason.WrongFieldType },
            { "string meta", """{"id":"d","text":"t","meta":"{}"}""", null, DeadLetterReason.WrongFieldType },
            { "duplicate id", """{"id":"d","text":"t","id":"e"}""", null, DeadLetterReason.DuplicateField },
            { "duplicate text", """{"id":"d","text":"t","text":"u"}""", null, DeadLetterReason.DuplicateField },
        };
        return data;
    }

    [Theory]
    [MemberData(nameof(BadRecords))]
    public void A_bad_record_becomes_a_dead_letter_with_its_reason(string name, string json, string? key, DeadLetterReason reason)
    {
        var result = Parse(json, key);

        result.IsValid.Should().BeFalse(name);
        result.DeadLetter!.Reason.Should().Be(reason, $"{name}: {result.DeadLetter.Message}");
        result.DeadLetter.Message.Should().NotBeNullOrWhiteSpace();
    }

    [Theory]
    [InlineData(new byte[] { 0x7B, 0x22, 0x69, 0x64, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D }, "offset 7")] // {"id":"\xFF"}
    [InlineData(new byte[] { 0x7B, 0x22, 0x69, 0x64, 0x22, 0x3A, 0x22, 0xC3, 0x22, 0x7D }, "offset 7")] // truncated 2-byte sequence
    [InlineData(new byte[] { 0x7B, 0xED, 0xA0, 0x80, 0x7D }, "offset 1")] // an encoded surrogate (CESU-8)
    [InlineData(new byte[] { 0x7B, 0xC0, 0xAF, 0x7D }, "offset 1")] // overlong "/"
    public void Invalid_utf8_is_dead_lettered_with_the_offset_of_the_first_bad_byte(byte[] value, string where)
    {
        var result = DocumentRecord.Parse(value, null, Limits);

        result.DeadLetter!.Reason.Should().Be(DeadLetterReason.InvalidUtf8);
        result.DeadLetter.Message.Should().Contain(where);
    }

    [Fact]
    public void Every_dead_letter_reason_is_produced_by_some_bad_record()
    {
        var covered = BadRecords().Select(row => (DeadLetterReason)row[3]).ToHashSet();

        covered.Should().BeEquivalentTo(DeadLetterReasons.All);
    }

    [Fact]
    public void A_mismatch_message_names_both_the_key_and_the_id()
    {
        Parse("""{"id":"doc-1","text":"t"}""", "doc-2").DeadLetter!.Message.Should().Contain("doc-1").And.Contain("doc-2");
    }

    [Fact]
    public void Parsing_never_throws_on_mangled_input()
    {
        var valid = new DocumentRecord("doc-ü", "some text 😀 with \"quotes\"", "web", meta: JsonDocument.Parse("""{"a":[1,2]}""").RootElement).ToUtf8Json();
        var random = new Random(1234);
        for (var trial = 0; trial < 5000; trial++)
        {
            var bytes = (byte[])valid.Clone();
            var mutation = trial % 3;
            if (mutation == 0) bytes = bytes[..random.Next(bytes.Length)];
            else if (mutation == 1) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            else bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));

            var act = () => DocumentRecord.Parse(bytes, "doc-ü", Limits);

            act.Should().NotThrow($"trial {trial}: {Convert.ToHexString(bytes)}");
        }
    }
}
