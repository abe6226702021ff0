using FluentAssertions;
using Reweighting.Contracts.Batches;
using Xunit;

namespace Reweighting.Contracts.Tests;

public class ScoredBatchGoldenTests
{
    // SampleBatches.Small() in schema 1.3, annotated field by field in docs/contracts.md. If this changes, the wire
    // format changed: bump the schema version (docs/contracts.md, "Versioning") instead of editing the string.
    private const string SmallBatchHex =
        "52575342" + "01" + "03" + "2D000000"                       // magic "RWSB", schema 1.3, header length 45
        + "00112233445566778899AABBCCDDEEFF"                       // batch id
        + "807502D34E300600"                                       // created at 2025-03-14T15:09:26Z in Unix microseconds
        + "03000000" + "0200" + "02000000"                         // GMM version 3, K = 2, 2 documents
        + "0A" + "677074322D70726F7879"                            // scorer model "gpt2-proxy"
        + "43000000"                                               // document 0: 67 bytes
        + "02" + "6431" + "04" + "776562" + "04"                   //   id "d1", domain "web" (length + 1), 4 tokens
        + "0000000000000440" + "000000000000D03F"                  //   loss mean 2.5, loss variance 0.25
        + "00" + "0000003F" + "0000003F" + "0000003F"              //   easy, confidence 0.5, responsibilities 0.5 0.5
        + "02" + "02" + "00" + "01" + "C801"                       //   2 windows of 2 and 0 tokens; tokens 1, 200
        + "0900000000000000"                                       //   9 scored bytes (1.1)
        + "000000000000E03F"                                       //   compression ratio 0.5 (1.2)
        + "000000000000C03F"                                       //   order gain 0.125 (1.3)
        + "3B000000"                                               // document 1: 59 bytes
        + "02" + "C3A9" + "00" + "00"                              //   id "é", no domain, 0 tokens
        + "0000000000000000" + "0000000000000000"                  //   loss mean 0, loss variance 0
        + "02" + "0000803F" + "00000000" + "0000803F"              //   noisy, confidence 1, responsibilities 0 1
        + "00"                                                     //   no windows
        + "0000000000000000"                                       //   scored bytes unknown (1.1)
        + "0000000000000000"                                       //   compression ratio unknown (1.2)
        + "0000000000000000";                                      //   order gain unknown (1.3)

    // The same batch as schema 1.2 wrote it, before documents carried their order gain. Readers keep decoding it.
    private const string SmallBatchHexSchema12 =
        "52575342" + "01" + "02" + "2D000000"                       // magic "RWSB", schema 1.2, header length 45
        + "00112233445566778899AABBCCDDEEFF"                       // batch id
        + "807502D34E300600"                                       // created at 2025-03-14T15:09:26Z in Unix microseconds
        + "03000000" + "0200" + "02000000"                         // GMM version 3, K = 2, 2 documents
        + "0A" + "677074322D70726F7879"                            // scorer model "gpt2-proxy"
        + "3B000000"                                               // document 0: 59 bytes
        + "02" + "6431" + "04" + "776562" + "04"                   //   id "d1", domain "web" (length + 1), 4 tokens
        + "0000000000000440" + "000000000000D03F"                  //   loss mean 2.5, loss variance 0.25
        + "00" + "0000003F" + "0000003F" + "0000003F"              //   easy, confidence 0.5, responsibilities 0.5 0.5
        + "02" + "02" + "00" + "01" + "C801"                       //   2 windows of 2 and 0 tokens; tokens 1, 200
        + "0900000000000000"                                       //   9 scored bytes (1.1)
        + "000000000000E03F"                                       //   compression ratio 0.5 (1.2)
        + "33000000"                                               // document 1: 51 bytes
        + "02" + "C3A9" + "00" + "00"                              //   id "é", no domain, 0 tokens
        + "0000000000000000" + "0000000000000000"                  //   loss mean 0, loss variance 0
        + "02" + "0000803F" + "00000000" + "0000803F"              //   noisy, confidence 1, responsibilities 0 1
        + "00"                                                     //   no windows
        + "0000000000000000"                                       //   scored bytes unknown (1.1)
        + "0000000000000000";                                      //   compression ratio unknown (1.2)

    // The same batch as schema 1.1 wrote it, before documents carried their compression ratio. Readers keep decoding it.
    private const string SmallBatchHexSchema11 =
        "52575342" + "01" + "01" + "2D000000"                       // magic "RWSB", schema 1.1, header length 45
        + "00112233445566778899AABBCCDDEEFF"                       // batch id
        + "807502D34E300600"                                       // created at 2025-03-14T15:09:26Z in Unix microseconds
        + "03000000" + "0200" + "02000000"                         // GMM version 3, K = 2, 2 documents
        + "0A" + "677074322D70726F7879"                            // scorer model "gpt2-proxy"
        + "33000000"                                               // document 0: 51 bytes
        + "02" + "6431" + "04" + "776562" + "04"                   //   id "d1", domain "web" (length + 1), 4 tokens
        + "0000000000000440" + "000000000000D03F"                  //   loss mean 2.5, loss variance 0.25
        + "00" + "0000003F" + "0000003F" + "0000003F"              //   easy, confidence 0.5, responsibilities 0.5 0.5
        + "02" + "02" + "00" + "01" + "C801"                       //   2 windows of 2 and 0 tokens; tokens 1, 200
        + "0900000000000000"                                       //   9 scored bytes (1.1)
        + "2B000000"                                               // document 1: 43 bytes
        + "02" + "C3A9" + "00" + "00"                              //   id "é", no domain, 0 tokens
        + "0000000000000000" + "0000000000000000"                  //   loss mean 0, loss variance 0
        + "02" + "0000803F" + "00000000" + "0000803F"              //   noisy, confidence 1, responsibilities 0 1
        + "00"                                                     //   no windows
        + "0000000000000000";                                      //   scored bytes unknown (1.1)

    // The same batch as schema 1.0 wrote it, before documents carried their scored bytes. Readers keep decoding it.
    private const string SmallBatchHexSchema10 =
        "52575342" + "01" + "00" + "2D000000"                       // magic "RWSB", schema 1.0, header length 45
        + "00112233445566778899AABBCCDDEEFF"                       // batch id
        + "807502D34E300600"                                       // created at 2025-03-14T15:09:26Z in Unix microseconds
        + "03000000" + "0200" + "02000000"                         // GMM version 3, K = 2, 2 documents
        + "0A" + "677074322D70726F7879"                            // scorer model "gpt2-proxy"
        + "2B000000"                                               // document 0: 43 bytes
        + "02" + "6431" + "04" + "776562" + "04"                   //   id "d1", domain "web" (length + 1), 4 tokens
        + "0000000000000440" + "000000000000D03F"                  //   loss mean 2.5, loss variance 0.25
        + "00" + "0000003F" + "0000003F" + "0000003F"              //   easy, confidence 0.5, responsibilities 0.5 0.5
        + "02" + "02" + "00" + "01" + "C801"                       //   2 windows of 2 and 0 tokens; tokens 1, 200
        + "23000000"                                               // document 1: 35 bytes
        + "02" + "C3A9" + "00" + "00"                              //   id "é", no domain, 0 tokens
        + "0000000000000000" + "0000000000000000"                  //   loss mean 0, loss variance 0
        + "02" + "0000803F" + "00000000" + "0000803F"              //   noisy, confidence 1, responsibilities 0 1
        + "00";                                                    //   no windows

    [Fact]
    public void A_small_batch_encodes_to_the_documented_bytes()
    {
        Convert.ToHexString(ScoredBatchCodec.Encode(SampleBatches.Small())).Should().Be(SmallBatchHex);
    }

    [Fact]
    public void The_documented_bytes_decode_to_the_small_batch()
    {
        var batch = ScoredBatchCodec.Decode(Convert.FromHexString(SmallBatchHex));

        batch.Should().BeEquivalentTo(SampleBatches.Small(), o => o.Excluding(m => m.Path.EndsWith("Windows")));
        batch.Documents[0].Windows.ToArrays().Should().BeEquivalentTo(new[] { new[] { 1, 200 }, [] }, o => o.WithStrictOrdering());
    }

    [Fact]
    public void Schema_1_2_bytes_decode_to_the_small_batch_with_its_order_gains_unknown()
    {
        var bytes = Convert.FromHexString(SmallBatchHexSchema12);

        var batch = ScoredBatchCodec.Decode(bytes);

        ScoredBatchCodec.ReadHeader(bytes).MinorVersion.Should().Be(2);
        batch.Should().BeEquivalentTo(SampleBatches.WithoutOrderGain(SampleBatches.Small()),
            o => o.Excluding(m => m.Path.EndsWith("Windows")));
        batch.Documents.Should().OnlyContain(d => d.OrderGain == null);
        batch.Documents[0].CompressionRatio.Should().Be(0.5);
    }

    [Fact]
    public void Schema_1_3_adds_only_the_order_gain_at_the_end_of_each_document_record()
    {
        // The 1.3 message is the 1.2 one with eight bytes appended to each record, the record lengths grown by eight and
        // the minor version changed (document 0 of 1.2 ends at hex digit 236).
        var v12 = SmallBatchHexSchema12.Replace("3B000000", "43000000").Replace("33000000", "3B000000");
        var expected = "52575342" + "01" + "03" + v12[12..236] + "000000000000C03F" + v12[236..] + "0000000000000000";

        SmallBatchHex.Should().Be(expected);
    }

    [Fact]
    public void Schema_1_1_bytes_decode_to_the_small_batch_with_its_compression_ratios_unknown()
    {
        var bytes = Convert.FromHexString(SmallBatchHexSchema11);

        var batch = ScoredBatchCodec.Decode(bytes);

        ScoredBatchCodec.ReadHeader(bytes).MinorVersion.Should().Be(1);
        batch.Should().BeEquivalentTo(SampleBatches.WithoutCompression(SampleBatches.Small()),
            o => o.Excluding(m => m.Path.EndsWith("Windows")));
        batch.Documents.Should().OnlyContain(d => d.CompressionRatio == null);
    }

    [Fact]
    public void Schema_1_2_adds_only_the_compression_ratio_at_the_end_of_each_document_record()
    {
        // The 1.2 message is the 1.1 one with eight bytes appended to each record, the record lengths grown by eight and
        // the minor version changed (document 0 of 1.1 ends at hex digit 220).
        var v11 = SmallBatchHexSchema11.Replace("33000000", "3B000000").Replace("2B000000", "33000000");
        var expected = "52575342" + "01" + "02" + v11[12..220] + "000000000000E03F" + v11[220..] + "0000000000000000";

        SmallBatchHexSchema12.Should().Be(expected);
    }

    [Fact]
    public void Schema_1_0_bytes_decode_to_the_small_batch_with_its_scored_bytes_unknown()
    {
        var bytes = Convert.FromHexString(SmallBatchHexSchema10);

        var batch = ScoredBatchCodec.Decode(bytes);

        ScoredBatchCodec.ReadHeader(bytes).MinorVersion.Should().Be(0);
        batch.Should().BeEquivalentTo(SampleBatches.WithoutScoredBytes(SampleBatches.Small()),
            o => o.Excluding(m => m.Path.EndsWith("Windows")));
        batch.Documents.Should().OnlyContain(d => d.ScoredBytes == null);
        batch.Documents[0].Windows.ToArrays().Should().BeEquivalentTo(new[] { new[] { 1, 200 }, [] }, o => o.WithStrictOrdering());
    }

    [Fact]
    public void Schema_1_1_adds_only_the_scored_bytes_at_the_end_of_each_document_record()
    {
        // What a 1.0 reader relies on to skip the new field: the 1.1 message is the 1.0 one with eight bytes appended
        // to each record, the record lengths grown by eight, and the minor version changed (document 0 ends at hex digit 204).
        var v10 = SmallBatchHexSchema10.Replace("2B000000", "33000000").Replace("23000000", "2B000000");
        var expected = "52575342" + "01" + "01" + v10[12..204] + "0900000000000000" + v10[204..] + "0000000000000000";

        SmallBatchHexSchema11.Should().Be(expected);
    }
}
