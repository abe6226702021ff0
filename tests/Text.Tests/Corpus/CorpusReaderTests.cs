using System.IO.Compression;
using System.Text;
using FluentAssertions;
using Reweighting.Text.Corpus;
using Xunit;

namespace Reweighting.Text.Tests.Corpus;

public class CorpusReaderTests
{
    private static void WriteGzip(string path, string content)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        gzip.Write(Encoding.UTF8.GetBytes(content));
    }

    [Fact]
    public void Jsonl_records_carry_their_id_and_domain_or_a_stable_id_from_file_and_line()
    {
        using var dir = new TempDirectory();
        var path = dir.File("docs.jsonl", """
            {"id": "doc-1", "text": "first", "domain": "web"}
            {"text": "second"}

            {"id": 42, "text": "third", "extra": [1, 2]}
            """);
        var records = new CorpusReader().Read(path).ToList();
        records.Should().Equal(
            new CorpusRecord("doc-1", "first", "web", $"{path}:1"),
            new CorpusRecord("docs.jsonl:2", "second", null, $"{path}:2"),
            new CorpusRecord("42", "third", null, $"{path}:4"));
    }

    [Fact]
    public void Gzipped_jsonl_reads_like_plain_jsonl()
    {
        using var dir = new TempDirectory();
        var lines = string.Join("\n", Enumerable.Range(0, 1000).Select(i => $$"""{"id":"d{{i}}","text":"document {{i}} ☃"}"""));
        var path = Path.Combine(dir.Path, "docs.jsonl.gz");
        WriteGzip(path, lines);
        var records = new CorpusReader().Read(path).ToList();
        records.Should().HaveCount(1000);
        records[999].Should().Be(new CorpusRecord("d999", "document 999 ☃", null, $"{path}:1000"));
    }

    [Fact]
    public void Bad_records_are_reported_with_file_and_line_and_skipped()
    {
        using var dir = new TempDirectory();
        var path = dir.File("bad.jsonl", string.Join("\n",
            """{"text": "good one"}""",
            """{"text": "unterminated""",
            """{"body": "no text field"}""",
            """{"text": ""}""",
            """{"text": 17}""",
            """["text", "an array"]""",
            """{"text": "two values"} {"text": "x"}""",
            """{"text": null}""",
            """{"text": "good two"}"""));
        var heard = new List<CorpusProblem>();
        var reader = new CorpusReader(onProblem: heard.Add);
        reader.Read(path).Select(r => r.Text).Should().Equal("good one", "good two");

        reader.Problems.Should().Equal(heard);
        reader.ProblemCount.Should().Be(7);
        reader.Problems.Select(p => p.Source).Should().Equal(Enumerable.Range(2, 7).Select(l => $"{path}:{l}"));
        reader.Problems[0].Reason.Should().StartWith("invalid JSON");
        reader.Problems[1].Reason.Should().Be("no \"text\" field");
        reader.Problems[2].Reason.Should().Be("\"text\" is empty");
        reader.Problems[3].Reason.Should().Be("\"text\" is a number, not a string");
        reader.Problems[4].Reason.Should().Contain("an array");
        reader.Problems[5].Reason.Should().StartWith("invalid JSON");
        reader.Problems[6].Reason.Should().Be("\"text\" is null, not a string");
    }

    [Fact]
    public void Invalid_utf8_in_a_jsonl_line_is_reported_not_replaced()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "bytes.jsonl");
        File.WriteAllBytes(path, [.. "{\"text\": \"ok\"}\n{\"text\": \"bad "u8, 0xFF, .. "\"}\n"u8]);
        var reader = new CorpusReader();
        reader.Read(path).Select(r => r.Text).Should().Equal("ok");
        reader.Problems.Should().ContainSingle().Which.Source.Should().Be($"{path}:2");
    }

    [Fact]
    public void The_text_id_and_domain_fields_are_configurable()
    {
        using var dir = new TempDirectory();
        var path = dir.File("c.jsonl", """{"content": "body", "uid": "u1", "source": "books", "text": "ignored"}""");
        var reader = new CorpusReader(new CorpusReaderOptions(TextField: "content", IdField: "uid", DomainField: "source"));
        reader.Read(path).Should().Equal(new CorpusRecord("u1", "body", "books", $"{path}:1"));
    }

    [Fact]
    public void Plain_text_is_one_document_per_non_blank_line_by_default()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "lines.txt");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. "first line\r\n\r\n  \nsecond line\nthird"u8]);
        new CorpusReader().Read(path).Should().Equal(
            new CorpusRecord("lines.txt:1", "first line", null, $"{path}:1"),
            new CorpusRecord("lines.txt:4", "second line", null, $"{path}:4"),
            new CorpusRecord("lines.txt:5", "third", null, $"{path}:5"));
    }

    [Fact]
    public void Plain_text_can_be_one_document_per_file()
    {
        using var dir = new TempDirectory();
        dir.File("a.txt", "line one\nline two\n");
        dir.File("empty.txt", "  \n");
        var reader = new CorpusReader(new CorpusReaderOptions(PlainText: PlainTextLayout.DocumentPerFile));
        reader.Read(dir.Path).Should().Equal(new CorpusRecord("a.txt", "line one\nline two\n", null, Path.Combine(dir.Path, "a.txt")));
        reader.Problems.Should().ContainSingle().Which.Should().Be(new CorpusProblem(Path.Combine(dir.Path, "empty.txt"), "empty document"));
    }

    [Fact]
    public void Invalid_utf8_lines_in_text_files_are_reported()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "x.txt");
        File.WriteAllBytes(path, [.. "good\n"u8, 0xC3, 0x28, .. "\nalso good"u8]);
        var reader = new CorpusReader();
        reader.Read(path).Select(r => r.Text).Should().Equal("good", "also good");
        reader.Problems.Should().Equal(new CorpusProblem($"{path}:2", "not valid UTF-8"));
    }

    [Fact]
    public void Directories_are_read_recursively_in_ordinal_path_order_and_unknown_files_are_reported()
    {
        using var dir = new TempDirectory();
        dir.File("b/2.txt", "b two");
        dir.File("b/1.jsonl", """{"text": "b one"}""");
        dir.File("a.jsonl", """{"text": "a"}""");
        dir.File("B.txt", "capital B");
        dir.File("notes.csv", "x,y");
        WriteGzip(dir.File("c/deep/z.jsonl.gz"), """{"text": "deep"}""");
        var reader = new CorpusReader();
        var records = reader.Read(dir.Path).ToList();
        records.Select(r => r.Text).Should().Equal("capital B", "a", "b one", "b two", "deep");
        records.Select(r => r.Id).Should().Equal("B.txt:1", "a.jsonl:1", "b/1.jsonl:1", "b/2.txt:1", "c/deep/z.jsonl.gz:1");
        reader.Problems.Should().ContainSingle().Which.Source.Should().EndWith("notes.csv");
        CorpusReader.ListFiles(dir.Path).Should().HaveCount(6);
    }

    [Fact]
    public void A_truncated_gzip_file_is_reported()
    {
        using var dir = new TempDirectory();
        var whole = Path.Combine(dir.Path, "whole.jsonl.gz");
        WriteGzip(whole, string.Join("\n", Enumerable.Range(0, 20000).Select(i => $$"""{"text":"document number {{i}} {{Guid.NewGuid()}}"}""")));
        var bytes = File.ReadAllBytes(whole);
        var cut = Path.Combine(dir.Path, "cut.jsonl.gz");
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        var reader = new CorpusReader();
        var count = reader.Read(cut).Count();
        count.Should().BeGreaterThan(0).And.BeLessThan(20000);
        reader.Problems.Should().Contain(p => p.Reason.Contains("probably truncated") && p.Source.StartsWith(cut + ":"));

        var intact = new CorpusReader();
        intact.Read(whole).Count().Should().Be(20000);
        intact.Problems.Should().BeEmpty("a complete file's trailer matches");
    }

    [Fact]
    public void A_gzip_file_cut_exactly_at_a_line_boundary_is_still_reported()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "cut.txt.gz");
        // A complete member followed by a second member cut short: the data ends cleanly after line 2.
        WriteGzip(path, "line one\nline two\n");
        using (var file = new FileStream(path, FileMode.Append))
        {
            using var second = new MemoryStream();
            using (var gzip = new GZipStream(second, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(Encoding.UTF8.GetBytes(new string('z', 5000)));
            file.Write(second.ToArray().AsSpan(0, 10));
        }
        var reader = new CorpusReader();
        reader.Read(path).Select(r => r.Text).Should().Equal("line one", "line two");
        reader.Problems.Should().ContainSingle().Which.Reason.Should().Contain("truncated");
    }

    [Fact]
    public void Lines_longer_than_the_read_buffer_are_read_whole()
    {
        using var dir = new TempDirectory();
        var long1 = new string('x', 300_000);
        var path = dir.File("long.jsonl", $$"""{"text":"{{long1}}"}""" + "\n" + """{"text":"short"}""");
        new CorpusReader().Read(path).Select(r => r.Text).Should().Equal(long1, "short");
    }

    [Fact]
    public void A_missing_path_fails_at_the_call_with_the_path()
    {
        FluentActions.Invoking(() => new CorpusReader().Read("/no/such/corpus.jsonl"))
            .Should().Throw<FileNotFoundException>().WithMessage("*/no/such/corpus.jsonl*");
    }

    [Fact]
    public void A_file_named_directly_is_read_as_text_whatever_its_extension()
    {
        using var dir = new TempDirectory();
        var path = dir.File("README.md", "# Title\nBody");
        new CorpusReader().Read(path).Select(r => r.Text).Should().Equal("# Title", "Body");
    }

    [Fact]
    public void Asked_to_keep_the_json_a_record_carries_its_whole_object_and_otherwise_none()
    {
        using var dir = new TempDirectory();
        var path = dir.File("docs.jsonl", """
            {"id": "a", "text": "first", "source": "x", "extra": [1, {"k": null}]}
            """);
        new CorpusReader().Read(path).Single().Json.Should().BeNull();
        var kept = new CorpusReader(new CorpusReaderOptions(KeepJson: true)).Read(path).Single();
        kept.Json.Should().Be("""{"id": "a", "text": "first", "source": "x", "extra": [1, {"k": null}]}""");
        kept.Should().Be(new CorpusRecord("a", "first", null, $"{path}:1") { Json = kept.Json });
    }
}
