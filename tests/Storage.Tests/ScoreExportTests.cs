using System.Text.Json;
using FluentAssertions;
using Parquet;
using Reweighting.Contracts;
using Reweighting.Storage.Export;
using Reweighting.Storage.Writing;
using Reweighting.Testing.Postgres;
using Xunit;

namespace Reweighting.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class ScoreExportTests(PostgresCluster cluster) : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("reweighting-export-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_out, recursive: true); } catch (IOException) { }
    }

    /// <summary>Documents from two Parquet shards (rows out of order), a zstd JSONL shard in a subdirectory and a producer
    /// that named no file; labels, means and GMM versions differ per document.</summary>
    private static ScoreBatch Corpus()
    {
        var id = Guid.NewGuid();
        (string Id, string? Source, SampleLabel Label, double Mean, int? Gmm)[] rows =
        [
            ("b", "/corpora/web/data/train-00000-of-00002.parquet:7", SampleLabel.Noisy, 6.5, 2),
            ("a", "/corpora/web/data/train-00000-of-00002.parquet:0", SampleLabel.Easy, 1.5, 2),
            ("c", "/corpora/web/data/train-00001-of-00002.parquet:3", SampleLabel.Hard, 4.0, 3),
            ("d", "/corpora/web/data/extra/more.jsonl.zst:12", SampleLabel.Noisy, 5.0, null),
            ("e", null, SampleLabel.Easy, 2.0, 3),
        ];
        var docs = rows.Select(r => TestData.Document(r.Id, r.Id == "c" ? "code" : "web") with { Source = r.Source }).ToList();
        var scores = rows.Select(r => TestData.Score(r.Id, mean: r.Mean, label: r.Label, batch: id, gmmVersion: r.Gmm)
            with { CompressionRatio = r.Id == "a" ? 0.25 : null, OrderGain = r.Id switch { "a" => 0.03, "b" => 0.0, _ => null } })
            .ToList();
        return new ScoreBatch(id, docs, scores, []);
    }

    /// <summary>Every column of a Parquet file as boxed values (nulls kept), read with Parquet.Net.</summary>
    private static async Task<Dictionary<string, List<object?>>> ReadParquetAsync(string path)
    {
        await using var reader = await ParquetReader.CreateAsync(path);
        var columns = reader.Schema.DataFields.ToDictionary(f => f.Name, _ => new List<object?>());
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            var rowGroup = reader.OpenRowGroupReader(g);
            var n = (int)rowGroup.RowCount;
            foreach (var field in reader.Schema.DataFields)
            {
                var values = columns[field.Name];
                if (field.ClrType == typeof(string) || field.ClrType == typeof(ReadOnlyMemory<char>))
                {
                    var strings = new string?[n];
                    await rowGroup.ReadAsync(field, strings.AsMemory(), null);
                    values.AddRange(strings);
                }
                else if (field.ClrType == typeof(long)) values.AddRange(await ReadAsync<long>(rowGroup, field, n));
                else if (field.ClrType == typeof(int)) values.AddRange(await ReadAsync<int>(rowGroup, field, n));
                else if (field.ClrType == typeof(double)) values.AddRange(await ReadAsync<double>(rowGroup, field, n));
                else values.AddRange(Enumerable.Repeat<object?>(field.ClrType.Name, n)); // timestamps: present, not compared
            }
        }
        return columns;
    }

    private static async Task<IEnumerable<object?>> ReadAsync<T>(ParquetRowGroupReader rowGroup, Parquet.Schema.DataField field, int n)
        where T : struct
    {
        if (field.IsNullable)
        {
            var nullable = new T?[n];
            await rowGroup.ReadAsync<T>(field, nullable.AsMemory(), null);
            return nullable.Select(v => v is null ? null : (object?)v.Value);
        }
        var values = new T[n];
        await rowGroup.ReadAsync<T>(field, values.AsMemory(), null);
        return values.Select(v => (object?)v);
    }

    [Fact]
    public async Task Parquet_export_writes_a_file_per_corpus_shard_in_shard_order_that_another_implementation_reads()
    {
        await using var db = await cluster.CreateDatabaseAsync();
        await new ScoreBatchWriter(db).WriteAsync(Corpus());
        var reported = new List<(long Done, long Total)>();

        var files = await new ScoreExporter(db).ExportAsync(new ScoreExportOptions(_out, ScoreExportFormat.Parquet, RowGroupRows: 1),
            (done, total) => reported.Add((done, total)));

        files.Select(f => (f.File, f.Rows)).Should().Equal(
            ("extra/more.parquet", 1), ("train-00000-of-00002.parquet", 2), ("train-00001-of-00002.parquet", 1), ("unsourced.parquet", 1));
        Directory.EnumerateFiles(_out, "*", SearchOption.AllDirectories).Should().HaveCount(4, "no partial file is left behind");
        reported.Last().Should().Be((5, 5));

        var shard = await ReadParquetAsync(Path.Combine(_out, "train-00000-of-00002.parquet"));
        shard["id"].Should().Equal("a", "b");
        const string first = "/corpora/web/data/train-00000-of-00002.parquet";
        shard["source_file"].Should().Equal(first, first);
        shard["source_row"].Should().Equal(0L, 7L);
        shard["label"].Should().Equal("easy", "noisy");
        shard["loss_mean"].Should().Equal(1.5, 6.5);
        shard["gmm_version"].Should().Equal(2, 2);
        shard["scorer_model"].Should().Equal(TestData.Model, TestData.Model);
        shard["n_tokens"].Should().Equal(100L, 100L);
        shard["domain"].Should().Equal("web", "web");
        shard["compression_ratio"].Should().Equal(0.25, null);
        shard["order_gain"].Should().Equal(0.03, 0.0);
        var extra = await ReadParquetAsync(Path.Combine(_out, "extra", "more.parquet"));
        extra["gmm_version"].Should().Equal(new object?[] { null });
        extra["source_row"].Should().Equal(12L);
        var unsourced = await ReadParquetAsync(Path.Combine(_out, "unsourced.parquet"));
        unsourced["id"].Should().Equal("e");
        unsourced["source_file"].Should().Equal(new object?[] { null });
    }

    [Fact]
    public async Task Jsonl_export_keeps_only_the_asked_labels_and_rows_matching_the_where_condition()
    {
        await using var db = await cluster.CreateDatabaseAsync();
        await new ScoreBatchWriter(db).WriteAsync(Corpus());

        var files = await new ScoreExporter(db).ExportAsync(
            new ScoreExportOptions(_out, ScoreExportFormat.Jsonl, [SampleLabel.Noisy, SampleLabel.Hard], "loss_mean > 4.5"));

        files.Select(f => f.File).Should().Equal("extra/more.jsonl", "train-00000-of-00002.jsonl");
        var lines = files.SelectMany(f => File.ReadAllLines(Path.Combine(_out, f.File)))
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();
        lines.Select(l => l.GetProperty("id").GetString()).Should().Equal("d", "b");
        lines[1].GetProperty("label").GetString().Should().Be("noisy");
        lines[1].GetProperty("loss_mean").GetDouble().Should().Be(6.5);
        lines[1].GetProperty("source_row").GetInt64().Should().Be(7);
        lines[0].GetProperty("gmm_version").ValueKind.Should().Be(JsonValueKind.Null);
        lines[0].GetProperty("compression_ratio").ValueKind.Should().Be(JsonValueKind.Null);
        lines[0].GetProperty("order_gain").ValueKind.Should().Be(JsonValueKind.Null);
        lines[1].GetProperty("order_gain").GetDouble().Should().Be(0, "a measured order gain of 0 is a value");
    }

    [Theory]
    [InlineData("no_such_column > 1", "no_such_column")]
    [InlineData("true; DELETE FROM documents", "DELETE FROM documents")]
    public async Task A_bad_where_condition_fails_clearly_changes_nothing_and_writes_nothing(string where, string named)
    {
        await using var db = await cluster.CreateDatabaseAsync();
        await new ScoreBatchWriter(db).WriteAsync(Corpus());

        var act = () => new ScoreExporter(db).ExportAsync(new ScoreExportOptions(_out, ScoreExportFormat.Parquet, Where: where));

        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("--where").And.Contain(named);
        (await TestData.CountAsync(db, "SELECT count(*) FROM documents")).Should().Be(5);
        Directory.EnumerateFiles(_out, "*", SearchOption.AllDirectories).Should().BeEmpty();
    }

    [Fact]
    public async Task The_where_condition_runs_in_a_read_only_transaction()
    {
        await using var db = await cluster.CreateDatabaseAsync();
        await new ScoreBatchWriter(db).WriteAsync(Corpus());

        var files = await new ScoreExporter(db).ExportAsync(new ScoreExportOptions(_out, ScoreExportFormat.Jsonl,
            Where: "current_setting('transaction_read_only') = 'on'"));

        files.Sum(f => f.Rows).Should().Be(5, "every row passes only when the condition sees a read-only transaction");
    }

    [Fact]
    public void File_names_mirror_the_shards_below_their_common_directory_safely_and_uniquely()
    {
        var names = ScoreExporter.FileNames(["s3/a/x.jsonl.gz", "s3/a/x.parquet", "s3/a/b c/y?.txt", "s3/a/../../etc/z.jsonl", null],
            ScoreExportFormat.Parquet);
        names.Should().Equal(new Dictionary<string, string>
        {
            ["s3/a/x.jsonl.gz"] = "x.parquet", ["s3/a/x.parquet"] = "x-2.parquet", ["s3/a/b c/y?.txt"] = "b_c/y_.parquet",
            ["s3/a/../../etc/z.jsonl"] = "etc/z.parquet", [""] = "unsourced.parquet",
        });
    }
}
