using System.Buffers.Binary;
using FluentAssertions;
using Reweighting.Contracts.Batches;
using Xunit;

namespace Reweighting.Contracts.Tests;

public class ScoredBatchCorruptionTests
{
    private static readonly byte[] Small = ScoredBatchCodec.Encode(SampleBatches.Small());

    [Fact]
    public void Every_truncation_of_a_batch_throws_invalid_data()
    {
        for (var length = 0; length < Small.Length; length++)
        {
            var prefix = Small[..length];

            var act = () => ScoredBatchCodec.Decode(prefix);

            act.Should().ThrowExactly<InvalidDataException>($"a {length}-byte prefix of {Small.Length} is truncated")
                .Which.Message.Should().NotBeNullOrWhiteSpace();
        }
    }

    [Fact]
    public void A_truncated_record_names_the_document_the_offset_and_the_shortfall()
    {
        var act = () => ScoredBatchCodec.Decode(Small.AsSpan(0, 70));

        act.Should().Throw<InvalidDataException>()
            .WithMessage("corrupt scored batch at byte 59: document 0 record length is 67, only 11 bytes remain (truncated?)");
    }

    [Fact]
    public void Every_single_byte_change_either_decodes_or_throws_invalid_data()
    {
        var decoded = 0;
        for (var at = 0; at < Small.Length; at++)
        {
            for (var value = 0; value < 256; value++)
            {
                if (value == Small[at]) continue;
                var bytes = (byte[])Small.Clone();
                bytes[at] = (byte)value;
                try
                {
                    ScoredBatchCodec.Decode(bytes);
                    decoded++;
                }
                catch (InvalidDataException)
                {
                }
                catch (Exception e)
                {
                    throw new Xunit.Sdk.XunitException($"byte {at} = 0x{value:X2} threw {e.GetType().Name}: {e.Message}");
                }
            }
        }
        // Changes to ids, statistics and token ids are legal data; the check is that nothing else escapes.
        decoded.Should().BeGreaterThan(0);
    }

    [Fact]
    public void Random_bytes_throw_invalid_data()
    {
        var random = new Random(99);
        for (var trial = 0; trial < 2000; trial++)
        {
            var bytes = new byte[random.Next(0, 200)];
            random.NextBytes(bytes);
            if (trial % 2 == 0 && bytes.Length >= 6) "RWSB\x01\x00"u8.CopyTo(bytes); // get past the magic and version

            var act = () => ScoredBatchCodec.Decode(bytes);

            act.Should().ThrowExactly<InvalidDataException>($"trial {trial}");
        }
    }

    [Fact]
    public void A_huge_declared_count_is_refused_before_anything_is_allocated()
    {
        var bytes = (byte[])Small.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(ScoredBatchCodec.PreambleBytes + 30), uint.MaxValue); // document count

        var act = () => ScoredBatchCodec.Decode(bytes);

        act.Should().Throw<InvalidDataException>().WithMessage("*document count 4294967295*");
    }

    [Fact]
    public void The_wrong_magic_is_refused_with_a_clear_message()
    {
        var act = () => ScoredBatchCodec.Decode("""{"id":"not a batch"}"""u8);

        act.Should().Throw<InvalidDataException>().WithMessage("*not a scored batch*RWSB*");
    }

    [Theory]
    [InlineData(2, "*schema 2.0 is newer than this reader understands (1.x)*")]
    [InlineData(255, "*schema 255.0 is newer*")]
    [InlineData(0, "*schema 0.0 is unknown*")]
    public void An_unknown_major_version_is_refused(byte major, string message)
    {
        var bytes = (byte[])Small.Clone();
        bytes[4] = major;
        bytes[5] = 0; // so that the messages name major.0 whatever minor this code writes

        var act = () => ScoredBatchCodec.Decode(bytes);

        act.Should().Throw<InvalidDataException>().WithMessage(message);
        ((Action)(() => ScoredBatchCodec.ReadHeader(bytes))).Should().Throw<InvalidDataException>().WithMessage(message);
    }

    [Fact]
    public void A_newer_minor_version_without_additions_decodes()
    {
        var bytes = (byte[])Small.Clone();
        bytes[5] = 7;

        ScoredBatchCodec.Decode(bytes).Should().BeEquivalentTo(SampleBatches.Small(), o => o.Excluding(m => m.Path.EndsWith("Windows")));
        ScoredBatchCodec.ReadHeader(bytes).MinorVersion.Should().Be(7);
    }

    [Fact]
    public void A_newer_minor_version_with_trailing_fields_is_read_and_the_unknown_fields_skipped()
    {
        var newer = (byte)(ScoredBatchCodec.MinorVersion + 1);
        var future = WithTrailingFields(Small, newer, headerExtra: [0xAA, 0xBB, 0xCC], documentExtra: [0x01, 0x02, 0x03, 0x04, 0x05]);

        var back = ScoredBatchCodec.Decode(future);

        future.Length.Should().Be(Small.Length + 3 + 2 * 5);
        back.Should().BeEquivalentTo(SampleBatches.Small(), o => o.Excluding(m => m.Path.EndsWith("Windows")));
        back.Documents.Select(d => d.Windows).Should().Equal(SampleBatches.Small().Documents.Select(d => d.Windows));
    }

    [Fact]
    public void Trailing_fields_in_a_version_this_reader_knows_fully_are_corruption()
    {
        var header = WithTrailingFields(Small, minor: ScoredBatchCodec.MinorVersion, headerExtra: [0xAA], documentExtra: []);
        var document = WithTrailingFields(Small, minor: ScoredBatchCodec.MinorVersion, headerExtra: [], documentExtra: [0xAA]);

        ((Action)(() => ScoredBatchCodec.Decode(header))).Should().Throw<InvalidDataException>().WithMessage("*header has 1 bytes after its last field*");
        ((Action)(() => ScoredBatchCodec.Decode(document))).Should().Throw<InvalidDataException>().WithMessage("*document 0 record has 1 bytes after*");
    }

    [Fact]
    public void A_current_message_labelled_schema_1_0_is_corruption_because_1_0_records_end_before_the_scored_bytes()
    {
        var relabelled = WithTrailingFields(Small, minor: 0, headerExtra: [], documentExtra: []);

        var act = () => ScoredBatchCodec.Decode(relabelled);

        act.Should().Throw<InvalidDataException>()
            .WithMessage("*document 0 record has 24 bytes after its last field, which schema 1.0 does not define*");
    }

    [Theory]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_compression_ratio_that_is_not_positive_and_finite_is_corruption_naming_the_document(double ratio)
    {
        var bytes = (byte[])Small.Clone();
        var body = DocumentBodyStart(bytes, 0);
        var end = body + (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(body - 4));
        BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(end - 16), ratio); // before the order gain, the record's last field

        var act = () => ScoredBatchCodec.Decode(bytes);

        act.Should().Throw<InvalidDataException>().WithMessage("*document 0: compression ratio * is not a positive finite number*");
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void An_order_gain_that_is_not_finite_is_corruption_naming_the_document(double gain)
    {
        var bytes = (byte[])Small.Clone();
        var body = DocumentBodyStart(bytes, 0);
        var end = body + (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(body - 4));
        BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(end - 8), gain); // the record's last field

        var act = () => ScoredBatchCodec.Decode(bytes);

        act.Should().Throw<InvalidDataException>().WithMessage("*document 0: order gain * is not a finite number*");
    }

    [Fact]
    public void A_negative_scored_byte_count_is_corruption_naming_the_document()
    {
        var bytes = (byte[])Small.Clone();
        var body = DocumentBodyStart(bytes, 1);
        var end = body + (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(body - 4));
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(end - 24), -1); // the scored bytes, before ratio and order gain

        var act = () => ScoredBatchCodec.Decode(bytes);

        act.Should().Throw<InvalidDataException>().WithMessage("*document 1: scored bytes -1 is not positive*");
    }

    [Fact]
    public void Bytes_after_the_last_document_are_corruption()
    {
        var act = () => ScoredBatchCodec.Decode([.. Small, 0x00]);

        act.Should().Throw<InvalidDataException>().WithMessage("*1 bytes follow the last document*");
    }

    [Fact]
    public void A_non_minimal_varint_is_corruption()
    {
        // Document 1's token count is a one-byte 0x00 varint; rewrite it as the two-byte 0x80 0x00.
        var batch = SampleBatches.Small();
        var bytes = Rewrite(ScoredBatchCodec.Encode(batch), document: 1, at: 1 + 2 + 1, remove: 1, insert: [0x80, 0x00]);

        var act = () => ScoredBatchCodec.Decode(bytes);

        act.Should().Throw<InvalidDataException>().WithMessage("*token count: varint is not minimally encoded*");
    }

    [Fact]
    public void A_varint_over_int_max_is_corruption()
    {
        var bytes = Rewrite(Small, document: 1, at: 1 + 2 + 1, remove: 1, insert: [0x80, 0x80, 0x80, 0x80, 0x08]); // 2^31

        var act = () => ScoredBatchCodec.Decode(bytes);

        act.Should().Throw<InvalidDataException>().WithMessage("*varint exceeds 2^31 - 1*");
    }

    [Fact]
    public void Invalid_utf8_in_an_id_is_corruption()
    {
        var bytes = Rewrite(Small, document: 1, at: 1, remove: 2, insert: [0xC3, 0x28]); // "é" is C3 A9

        var act = () => ScoredBatchCodec.Decode(bytes);

        act.Should().Throw<InvalidDataException>().WithMessage("*document 1 id is not valid UTF-8*");
    }

    [Fact]
    public void An_out_of_range_value_is_corruption_naming_the_document()
    {
        var bytes = (byte[])Small.Clone();
        var labelAt = DocumentBodyStart(bytes, 1) + 1 + 2 + 1 + 1 + 8 + 8;
        bytes[labelAt].Should().Be((byte)SampleLabel.Noisy);
        bytes[labelAt] = 9;

        var act = () => ScoredBatchCodec.Decode(bytes);

        act.Should().Throw<InvalidDataException>().WithMessage("*document 1: label 9 is not easy (0), hard (1) or noisy (2)*");
    }

    /// <summary>Offset of document <paramref name="index"/>'s record body (after its length prefix).</summary>
    private static int DocumentBodyStart(byte[] bytes, int index)
    {
        var at = ScoredBatchCodec.PreambleBytes + (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(6));
        for (var i = 0; i < index; i++) at += 4 + (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at));
        return at + 4;
    }

    /// <summary>Replaces bytes inside one document record and fixes its length prefix.</summary>
    private static byte[] Rewrite(byte[] bytes, int document, int at, int remove, byte[] insert)
    {
        var body = DocumentBodyStart(bytes, document);
        var length = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(body - 4));
        byte[] result = [.. bytes[..(body + at)], .. insert, .. bytes[(body + at + remove)..]];
        BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(body - 4), (uint)(length - remove + insert.Length));
        return result;
    }

    /// <summary>Simulates a writer of a newer minor version: extra bytes at the end of the header and of every document.</summary>
    private static byte[] WithTrailingFields(byte[] bytes, byte minor, byte[] headerExtra, byte[] documentExtra)
    {
        var output = new List<byte>(bytes[..4]) { bytes[4], minor };
        var headerLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(6));
        output.AddRange(LittleEndian(headerLength + headerExtra.Length));
        output.AddRange(bytes[10..(10 + headerLength)]);
        output.AddRange(headerExtra);
        var at = 10 + headerLength;
        while (at < bytes.Length)
        {
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at));
            output.AddRange(LittleEndian(length + documentExtra.Length));
            output.AddRange(bytes[(at + 4)..(at + 4 + length)]);
            output.AddRange(documentExtra);
            at += 4 + length;
        }
        return [.. output];
    }

    private static byte[] LittleEndian(int value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, value);
        return b;
    }
}
