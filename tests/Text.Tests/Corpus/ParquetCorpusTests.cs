using System.Text;
using FluentAssertions;
using Parquet;
using Parquet.Schema;
using Reweighting.Text.Corpus;
using Xunit;

namespace Reweighting.Text.Tests.Corpus;

/// <summary>Parquet shards written by Parquet.Net and read by the product's reader (ParquetSharp).</summary>
public class ParquetCorpusTests
{
    private static readonly DataField[] Standard = [ParquetFixture.Text("id"), ParquetFixture.Text("text"), ParquetFixture.Text("domain")];

    // Text of every kind the reader must not mangle: multi-byte UTF-8, surrogate pairs, combining marks, controls.
    private static string Document(int i, Random random)
    {
        string[] pieces =
            ["plain words", "naïve café", "日本語のテキスト", "emoji 🚀🦀", "e\u0301 combining", "tab\tand\nnewline", "\"quoted\" \\ slash"];
        var builder = new StringBuilder($"document {i}:");
        for (var k = random.Next(1, 40); k > 0; k--) builder.Append(' ').Append(pieces[random.Next(pieces.Length)]);
        return builder.ToString();
    }

    [Theory]
    [InlineData(CompressionMethod.Snappy)]
    [InlineData(CompressionMethod.Zstd)]
    [InlineData(CompressionMethod.Gzip)]
    [InlineData(CompressionMethod.None)]
    public async Task Parquet_from_another_implementation_reads_back_exactly_across_row_groups(CompressionMethod compression)
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "train-00000-of-00001.parquet");
        var random = new Random(7);
        var sizes = new[] { 1000, 1, 513 };
        var expected = new List<CorpusRecord>();
        var groups = new List<Array[]>();
        var row = 0;
        foreach (var size in sizes)
        {
            var ids = new string?[size];
            var texts = new string?[size];
            var domains = new string?[size];
            for (var i = 0; i < size; i++, row++)
            {
                ids[i] = $"doc-{row}";
                texts[i] = Document(row, random);
                domains[i] = $"domain-{row % 3}";
                expected.Add(new CorpusRecord(ids[i]!, texts[i]!, domains[i], $"{path}:{row}"));
            }
            groups.Add([ids, texts, domains]);
        }
        await ParquetFixture.WriteAsync(path, Standard, groups, compression);

        var reader = new CorpusReader();
        var records = reader.Read(path).ToList();

        reader.Problems.Should().BeEmpty();
        records.Should().Equal(expected);
    }

    [Fact]
    public async Task Nulls_derive_ids_drop_domains_and_skip_texts_with_file_and_row_named()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "shard.parquet");
        await ParquetFixture.WriteAsync(path, Standard,
        [
            [new string?[] { "a", null, "c" }, new string?[] { "first", "second", null }, new string?[] { null, "web", "code" }],
            [new string?[] { "d", "e" }, new string?[] { "   ", "fifth" }, new string?[] { "", "books" }],
        ]);

        var reader = new CorpusReader();
        var records = reader.Read(path).ToList();

        records.Should().Equal(
            new CorpusRecord("a", "first", null, $"{path}:0"),
            new CorpusRecord("shard.parquet:1", "second", "web", $"{path}:1"),
            new CorpusRecord("e", "fifth", "books", $"{path}:4"));
        reader.Problems.Should().Equal(
            new CorpusProblem($"{path} row 2", "\"text\" is null"),
            new CorpusProblem($"{path} row 3", "\"text\" is empty"));
    }

    [Fact]
    public async Task Large_strings_read_back_exactly()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "large.parquet");
        var random = new Random(3);
        var large = string.Concat(Enumerable.Range(0, 10_000).Select(i => Document(i, random)));  // about 3 MB of UTF-8
        var larger = new string('☃', 1_200_000) + "end";                                          // 3.6 MB of UTF-8
        // Parquet.Net copies a page's min and max values whole into its page header, and Arrow refuses page headers
        // over 16 MB, so each large string gets a row group (a page) of its own and stays under 4 MB.
        await ParquetFixture.WriteAsync(path, Standard,
        [
            [new string?[] { "big", "small" }, new string?[] { large, "tiny" }, new string?[] { null, null }],
            [new string?[] { "bigger" }, new string?[] { larger }, new string?[] { null }],
        ], CompressionMethod.Zstd);

        var reader = new CorpusReader();
        var records = reader.Read(path).ToList();

        reader.Problems.Should().BeEmpty();
        records.Select(r => r.Id).Should().Equal("big", "small", "bigger");
        (records[0].Text == large).Should().BeTrue("the 3 MB text must come back unchanged");
        records[1].Text.Should().Be("tiny");
        (records[2].Text == larger).Should().BeTrue("the 3.6 MB text must come back unchanged");
    }

    [Fact]
    public async Task A_shard_without_the_text_column_is_reported_by_name_and_the_other_shards_still_read()
    {
        using var dir = new TempDirectory();
        var good = Path.Combine(dir.Path, "data", "train-00000-of-00003.parquet");
        var bad = Path.Combine(dir.Path, "data", "train-00001-of-00003.parquet");
        var last = Path.Combine(dir.Path, "data", "train-00002-of-00003.parquet");
        await ParquetFixture.WriteAsync(good, Standard, [[new string?[] { "a" }, new string?[] { "alpha" }, new string?[] { "x" }]]);
        await ParquetFixture.WriteAsync(bad, [ParquetFixture.Text("id"), ParquetFixture.Text("content")],
            [[new string?[] { "b" }, new string?[] { "beta" }]]);
        await ParquetFixture.WriteAsync(last, Standard, [[new string?[] { "c" }, new string?[] { "gamma" }, new string?[] { "y" }]]);

        var reader = new CorpusReader();
        var records = reader.Read(Path.Combine(dir.Path, "data")).ToList();

        records.Select(r => r.Text).Should().Equal("alpha", "gamma");
        reader.Problems.Should().ContainSingle().Which.Should().Be(
            new CorpusProblem(bad, "no \"text\" column (columns: id, content); the shard is skipped"));
    }

    [Fact]
    public async Task Fields_map_to_any_columns_and_integer_ids_become_text()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "mapped.parquet");
        DataField[] fields =
            [new DataField<long?>("doc_id"), ParquetFixture.Text("content", nullable: false), ParquetFixture.Text("source")];
        await ParquetFixture.WriteAsync(path, fields,
            [[new long?[] { 9_000_000_000L, null }, new string?[] { "one", "two" }, new string?[] { "wiki", "code" }]]);

        var options = new CorpusReaderOptions(TextField: "content", IdField: "doc_id", DomainField: "source");
        var records = new CorpusReader(options).Read(path).ToList();

        records.Should().Equal(
            new CorpusRecord("9000000000", "one", "wiki", $"{path}:0"),
            new CorpusRecord("mapped.parquet:1", "two", "code", $"{path}:1"));
    }

    [Fact]
    public async Task A_binary_text_column_is_decoded_as_utf8_and_invalid_bytes_are_reported()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "binary.parquet");
        DataField[] fields = [new DataField<byte[]>("text")];
        await ParquetFixture.WriteAsync(path, fields,
            [[new byte[]?[] { Encoding.UTF8.GetBytes("héllo"), [0x66, 0xFF, 0x6F], Encoding.UTF8.GetBytes("wörld") }]]);

        var reader = new CorpusReader();
        var records = reader.Read(path).ToList();

        records.Select(r => (r.Id, r.Text)).Should().Equal(("binary.parquet:0", "héllo"), ("binary.parquet:2", "wörld"));
        reader.Problems.Should().Equal(new CorpusProblem($"{path} row 1", "\"text\" is not valid UTF-8"));
    }

    [Fact]
    public async Task A_truncated_shard_is_reported_and_the_next_shard_still_reads()
    {
        using var dir = new TempDirectory();
        var cut = Path.Combine(dir.Path, "a.parquet");
        var whole = Path.Combine(dir.Path, "b.parquet");
        await ParquetFixture.WriteAsync(cut, Standard, [[new string?[] { "a" }, new string?[] { "alpha" }, new string?[] { null }]]);
        await ParquetFixture.WriteAsync(whole, Standard, [[new string?[] { "b" }, new string?[] { "beta" }, new string?[] { null }]]);
        var bytes = await File.ReadAllBytesAsync(cut);
        await File.WriteAllBytesAsync(cut, bytes[..(bytes.Length / 2)]);

        var reader = new CorpusReader();
        var records = reader.Read(dir.Path).ToList();

        records.Select(r => r.Id).Should().Equal("b");
        reader.Problems.Should().ContainSingle().Which.Source.Should().Be(cut);
        reader.Problems[0].Reason.Should().StartWith("cannot open as Parquet");
    }

    [Fact]
    public async Task A_glob_reads_matching_shards_in_order_with_ids_from_shard_and_row()
    {
        using var dir = new TempDirectory();
        DataField[] textOnly = [ParquetFixture.Text("text")];
        (string Name, string Text)[] shards =
        [
            ("data/train-00001-of-00002.parquet", "second"), ("data/train-00000-of-00002.parquet", "first"),
            ("data/test-00000-of-00001.parquet", "held out"),
        ];
        foreach (var (name, text) in shards)
            await ParquetFixture.WriteAsync(Path.Combine(dir.Path, name), textOnly, [[new string?[] { text, text + " again" }]]);

        var records = new CorpusReader().Read(Path.Combine(dir.Path, "data", "train-*.parquet")).ToList();

        records.Select(r => (r.Id, r.Text)).Should().Equal(
            ("train-00000-of-00002.parquet:0", "first"), ("train-00000-of-00002.parquet:1", "first again"),
            ("train-00001-of-00002.parquet:0", "second"), ("train-00001-of-00002.parquet:1", "second again"));
    }
}
