using System.Text;
using FluentAssertions;
using Reweighting.Text.Corpus;
using Xunit;
using ZstdSharp;

namespace Reweighting.Text.Tests.Corpus;

public class ZstdCorpusTests
{
    // Written by the reference zstd command-line tool (v1.5.4, level 19) from two JSON lines, so the reader is checked
    // against a frame it did not produce itself.
    private static readonly byte[] ReferenceFrame =
    [
        40, 181, 47, 253, 4, 104, 61, 2, 0, 50, 132, 15, 21, 192, 61, 255, 255, 239, 13, 57, 206, 45, 83, 227, 236, 178, 246, 198,
        220, 168, 164, 142, 247, 16, 192, 250, 197, 185, 223, 45, 214, 200, 189, 243, 177, 2, 235, 164, 140, 254, 227, 30, 126,
        122, 216, 175, 100, 183, 7, 83, 35, 25, 169, 11, 151, 243, 165, 7, 55, 46, 28, 45, 175, 1, 1, 0, 161, 8, 5, 5, 121, 152,
        159, 26,
    ];

    private static string Lines(int count, int from = 0) =>
        string.Concat(Enumerable.Range(from, count)
            .Select(i => $$"""{"id":"d{{i}}","text":"document {{i}} ☃ {{new string('x', i % 97)}}"}""" + "\n"));

    private static void WriteZstd(string path, params string[] frames)
    {
        using var file = File.Create(path);
        foreach (var frame in frames) // each a complete frame: zstd files may be concatenations of frames
        {
            using var compressor = new Compressor(3);
            file.Write(compressor.Wrap(Encoding.UTF8.GetBytes(frame)));
        }
    }

    [Fact]
    public void A_frame_from_the_reference_tool_reads_exactly()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "reference.jsonl.zst");
        File.WriteAllBytes(path, ReferenceFrame);

        var reader = new CorpusReader();
        var records = reader.Read(path).ToList();

        reader.Problems.Should().BeEmpty();
        records.Should().Equal(
            new CorpusRecord("a", "zstd from the reference CLI", null, $"{path}:1"),
            new CorpusRecord("reference.jsonl.zst:2", "second line ☃", null, $"{path}:2"));
    }

    [Fact]
    public void Zstd_jsonl_of_several_frames_reads_like_plain_jsonl()
    {
        using var dir = new TempDirectory();
        var plain = dir.File("docs.jsonl", Lines(3000));
        var zstd = Path.Combine(dir.Path, "docs.jsonl.zst");
        WriteZstd(zstd, Lines(1000), Lines(2000, from: 1000));

        var expected = new CorpusReader().Read(plain).Select(r => (r.Id, r.Text)).ToList();
        var reader = new CorpusReader();
        var records = reader.Read(zstd).Select(r => (r.Id, r.Text)).ToList();

        reader.Problems.Should().BeEmpty();
        records.Should().HaveCount(3000).And.Equal(expected);
    }

    [Fact]
    public void A_zstd_stream_cut_short_is_reported_with_file_and_line_and_the_records_before_it_are_kept()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "cut.jsonl.zst");
        WriteZstd(path, Lines(20_000));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length * 6 / 10)]);

        var reader = new CorpusReader();
        var records = reader.Read(path).ToList();

        records.Should().NotBeEmpty().And.HaveCountLessThan(20_000);
        records.Select(r => r.Id).Should().Equal(Enumerable.Range(0, records.Count).Select(i => $"d{i}"));
        var problem = reader.Problems.Should().ContainSingle().Subject;
        problem.Source.Should().StartWith($"{path}:");
        problem.Reason.Should().Contain("truncated").And.Contain($"after line {records.Count}");
    }

    [Fact]
    public void A_file_that_is_not_zstd_is_reported_not_read_as_garbage()
    {
        using var dir = new TempDirectory();
        var path = dir.File("fake.jsonl.zst", Lines(10));

        var reader = new CorpusReader();
        var records = reader.Read(path).ToList();

        records.Should().BeEmpty();
        reader.Problems.Should().ContainSingle().Which.Source.Should().StartWith(path);
    }

    [Fact]
    public void Zstd_text_and_dolma_style_json_zst_are_recognised_in_a_directory()
    {
        using var dir = new TempDirectory();
        WriteZstd(Path.Combine(dir.Path, "a.txt.zst"), "line one\nline two\n");
        WriteZstd(Path.Combine(dir.Path, "b.json.zst"), """{"text": "dolma record"}""" + "\n");

        var reader = new CorpusReader();
        var records = reader.Read(dir.Path).ToList();

        reader.Problems.Should().BeEmpty();
        records.Select(r => (r.Id, r.Text)).Should().Equal(
            ("a.txt.zst:1", "line one"), ("a.txt.zst:2", "line two"), ("b.json.zst:1", "dolma record"));
    }
}
