using System.IO.Compression;
using System.Text.Json;
using FluentAssertions;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>`reweight corpus split`: a domain filter and a seeded, id-hashed stream/holdout split that keeps every field.</summary>
public sealed class CorpusSplitCommandTests : IDisposable
{
    private static readonly string[] Domains = ["code", "docs", "wiki", "books"];

    private readonly CliRunner.TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A corpus of <paramref name="n"/> records over four domains, with fields the reader does not know about.</summary>
    private string Corpus(int n, string name = "corpus.jsonl")
    {
        var path = Path.Combine(_dir.Path, name);
        File.WriteAllLines(path, Enumerable.Range(0, n).Select(i => JsonSerializer.Serialize(new
        {
            id = $"{Domains[i % 4]}-{i}", domain = Domains[i % 4], source = $"origin/{i}", text = $"document {i} ünïcode",
            extra = new[] { i, i * 2 },
        })));
        return path;
    }

    private string Out(string name) => Path.Combine(_dir.Path, name);

    private static List<string> Lines(string path)
    {
        using var file = File.OpenRead(path);
        using var stream = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
        using var reader = new StreamReader(stream);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line);
        return lines;
    }

    private static List<string> Ids(string path) => Field(path, "id");

    private static List<string> Field(string path, string name) =>
        Lines(path).Select(l => JsonDocument.Parse(l).RootElement.GetProperty(name).GetString()!).ToList();

    private static CliRunner.Result Split(string input, string stream, string holdout, params string[] more) =>
        CliRunner.Run(["corpus", "split", "--in", input, "--out", stream, "--holdout-out", holdout, .. more]);

    [Fact]
    public void The_two_sides_are_disjoint_cover_the_corpus_keep_every_field_and_hold_out_about_the_fraction()
    {
        var input = Corpus(1000);
        var run = Split(input, Out("stream.jsonl"), Out("holdout.jsonl.gz"), "--holdout", "0.25", "--seed", "7");
        run.ExitCode.Should().Be(0, run.Stderr);
        var stream = Lines(Out("stream.jsonl"));
        var holdout = Lines(Out("holdout.jsonl.gz"));
        stream.Concat(holdout).Should().BeEquivalentTo(File.ReadAllLines(input), "every record is written once, every field as it was");
        Ids(Out("stream.jsonl")).Intersect(Ids(Out("holdout.jsonl.gz"))).Should().BeEmpty();
        // 250 expected, binomial standard deviation about 14: five of them either side.
        holdout.Count.Should().BeInRange(180, 320);
        run.Stderr.Should().Contain($"{holdout.Count} held out");
    }

    [Fact]
    public void The_same_seed_gives_the_same_split_and_another_seed_another()
    {
        var input = Corpus(400);
        Split(input, Out("a.jsonl"), Out("a-hold.jsonl"), "--seed", "3").ExitCode.Should().Be(0);
        Split(input, Out("b.jsonl"), Out("b-hold.jsonl"), "--seed", "3").ExitCode.Should().Be(0);
        Split(input, Out("c.jsonl"), Out("c-hold.jsonl"), "--seed", "4").ExitCode.Should().Be(0);
        File.ReadAllBytes(Out("a.jsonl")).Should().Equal(File.ReadAllBytes(Out("b.jsonl")));
        File.ReadAllBytes(Out("a-hold.jsonl")).Should().Equal(File.ReadAllBytes(Out("b-hold.jsonl")));
        Ids(Out("c-hold.jsonl")).Should().NotBeEquivalentTo(Ids(Out("a-hold.jsonl")));
    }

    [Fact]
    public void A_document_keeps_its_side_whatever_else_the_filter_keeps()
    {
        var input = Corpus(400);
        Split(input, Out("all.jsonl"), Out("all-hold.jsonl")).ExitCode.Should().Be(0);
        Split(input, Out("code.jsonl"), Out("code-hold.jsonl"), "--domains", "code").ExitCode.Should().Be(0);
        Ids(Out("code-hold.jsonl")).Should()
            .BeEquivalentTo(Ids(Out("all-hold.jsonl")).Where(id => id.StartsWith("code-", StringComparison.Ordinal)));
    }

    [Fact]
    public void The_domain_filter_keeps_only_the_named_domains_and_the_limit_the_first_documents()
    {
        var input = Corpus(400);
        var run = Split(input, Out("s.jsonl"), Out("h.jsonl"), "--domains", "wiki, books", "--json");
        run.ExitCode.Should().Be(0, run.Stderr);
        var kept = Field(Out("s.jsonl"), "domain").Concat(Field(Out("h.jsonl"), "domain")).ToList();
        kept.Should().HaveCount(200).And.OnlyContain(d => d == "wiki" || d == "books");
        var summary = JsonDocument.Parse(run.Stdout).RootElement;
        (summary.GetProperty("stream").GetInt64() + summary.GetProperty("holdout").GetInt64()).Should().Be(200);
        summary.GetProperty("read").GetInt64().Should().Be(400);

        Split(input, Out("m.jsonl"), Out("mh.jsonl"), "--domains", "code", "--max-documents", "30").ExitCode.Should().Be(0);
        var limited = Ids(Out("m.jsonl")).Concat(Ids(Out("mh.jsonl"))).ToList();
        limited.Should().BeEquivalentTo(Enumerable.Range(0, 30).Select(i => $"code-{i * 4}"));
    }

    [Fact]
    public void A_domain_the_corpus_lacks_fails_listing_the_domains_present_and_writes_nothing()
    {
        var input = Corpus(40);
        var run = Split(input, Out("s.jsonl"), Out("h.jsonl"), "--domains", "code,poetry");
        run.ExitCode.Should().NotBe(0);
        run.Stderr.Should().Contain("'poetry'").And.Contain("books 10").And.Contain("code 10").And.Contain("wiki 10");
        File.Exists(Out("s.jsonl")).Should().BeFalse();
        File.Exists(Out("h.jsonl")).Should().BeFalse();
    }

    [Fact]
    public void Bad_arguments_fail_with_a_message_and_help_names_the_options()
    {
        var input = Corpus(10);
        Split(Out("missing.jsonl"), Out("s.jsonl"), Out("h.jsonl")).Stderr.Should().Contain("does not exist");
        var badFraction = Split(input, Out("s.jsonl"), Out("h.jsonl"), "--holdout", "1.5");
        badFraction.ExitCode.Should().NotBe(0);
        badFraction.Stderr.Should().Contain("holdout fraction");
        Split(input, Out("same.jsonl"), Out("same.jsonl")).ExitCode.Should().NotBe(0);
        var help = CliRunner.Run("corpus", "split", "--help");
        help.ExitCode.Should().Be(0);
        help.Stdout.Should().Contain("--holdout-out").And.Contain("--domains").And.Contain("--domain-field").And.Contain("--max-documents");
    }
}
