using System.IO.Compression;
using System.Text;
using FluentAssertions;
using Reweighting.Text.Corpus;
using Reweighting.Text.Corpus.Corruption;
using Xunit;

namespace Reweighting.Text.Tests.Corpus;

public class CorpusLabelsTests
{
    [Fact]
    public void Labelled_records_map_to_noisy_and_noise_type_and_the_rest_are_skipped()
    {
        using var dir = new TempDirectory();
        var path = dir.File("labelled.jsonl", """
            {"id": "a", "text": "x", "label": "clean", "noise_type": null}
            {"id": "b", "text": "x", "label": "noisy", "noise_type": "boilerplate"}
            {"id": 7, "text": "x", "label": "noisy"}
            {"id": "c", "text": "x", "label": "maybe"}
            {"id": "d", "text": "x"}
            {"text": "x", "label": "noisy"}
            {not json

            """);
        CorpusLabels.Read(path).Should().BeEquivalentTo(new Dictionary<string, CorpusLabel>
        {
            ["a"] = new(false, null), ["b"] = new(true, "boilerplate"), ["7"] = new(true, null),
            ["labelled.jsonl:6"] = new(true, null), // the id the corpus reader derives, so labels and documents meet
        });
    }

    [Fact]
    public void A_gzipped_corpus_reads_like_a_plain_one()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "labelled.jsonl.gz");
        using (var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest))
            gzip.Write(Encoding.UTF8.GetBytes("{\"id\": \"a\", \"text\": \"x\", \"label\": \"noisy\", \"noise_type\": \"spam\"}\n"));
        CorpusLabels.Read(path).Should().Equal(new Dictionary<string, CorpusLabel> { ["a"] = new(true, "spam") });
    }

    [Fact]
    public async Task A_parquet_corpus_carries_its_labels_with_the_reader_s_ids()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "labelled.parquet");
        Parquet.Schema.DataField[] fields =
            [ParquetFixture.Text("id"), ParquetFixture.Text("text"), ParquetFixture.Text("label"), ParquetFixture.Text("noise_type")];
        await ParquetFixture.WriteAsync(path, fields,
            [[new string?[] { "a", null, "c" }, new string?[] { "x", "y", "z" }, new string?[] { "noisy", "clean", null },
              new string?[] { "spam", null, null }]]);
        CorpusLabels.Read(path).Should().BeEquivalentTo(new Dictionary<string, CorpusLabel>
        {
            ["a"] = new(true, "spam"), ["labelled.parquet:1"] = new(false, null),
        });
    }

    [Fact]
    public void A_corrupted_corpus_reads_back_with_the_labels_the_corruptor_wrote()
    {
        using var dir = new TempDirectory();
        var clean = dir.File("clean.jsonl", string.Join("\n", Enumerable.Range(0, 200).Select(i =>
            $$"""{"id": "d{{i}}", "text": "document number {{i}} says something about the weather, the sea and the ships."}""")));
        var corrupted = Path.Combine(dir.Path, "corrupted.jsonl");
        var summary = new CorpusCorruptor(new CorruptionOptions(0.3, Seed: 5)).Run(clean, corrupted);
        var labels = CorpusLabels.Read(corrupted);
        labels.Should().HaveCount(200);
        labels.Values.LongCount(l => l.Noisy).Should().Be(summary.Corrupted).And.BePositive();
        labels.Values.Where(l => l.Noisy).Should().OnlyContain(l => l.NoiseType != null);
        labels.Values.Where(l => !l.Noisy).Should().OnlyContain(l => l.NoiseType == null);
    }

    [Fact]
    public void A_corpus_without_labels_is_refused_with_the_way_to_make_one()
    {
        using var dir = new TempDirectory();
        var path = dir.File("plain.jsonl", "{\"id\": \"a\", \"text\": \"x\"}\n");
        FluentActions.Invoking(() => CorpusLabels.Read(path)).Should().Throw<InvalidDataException>().WithMessage("*corpus corrupt*");
        FluentActions.Invoking(() => CorpusLabels.Read(Path.Combine(dir.Path, "missing.jsonl"))).Should().Throw<FileNotFoundException>();
    }
}
