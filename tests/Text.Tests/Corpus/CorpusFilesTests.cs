using FluentAssertions;
using Reweighting.Text.Corpus;
using Xunit;

namespace Reweighting.Text.Tests.Corpus;

public class CorpusFilesTests
{
    private static TempDirectory Tree(params string[] files)
    {
        var dir = new TempDirectory();
        foreach (var f in files) dir.File(f, "x");
        return dir;
    }

    private static IEnumerable<string> Matches(TempDirectory dir, string glob)
    {
        var corpus = CorpusFiles.Resolve(Path.Combine(dir.Path, glob));
        return corpus.Files.Select(corpus.Relative);
    }

    [Fact]
    public void A_star_stays_within_one_directory_and_results_are_in_ordinal_order()
    {
        using var dir = Tree("data/train-00001.parquet", "data/train-00000.parquet", "data/test-00000.parquet", "data/sub/train-9.parquet");
        Matches(dir, "data/train-*.parquet").Should().Equal("train-00000.parquet", "train-00001.parquet");
    }

    [Fact]
    public void A_double_star_spans_directories_including_none()
    {
        using var dir = Tree("c/a.jsonl.zst", "c/en/b.jsonl.zst", "c/en/x/c.jsonl.zst", "c/en/x/c.txt");
        Matches(dir, "c/**/*.jsonl.zst").Should().Equal("a.jsonl.zst", "en/b.jsonl.zst", "en/x/c.jsonl.zst");
    }

    [Fact]
    public void Question_marks_and_classes_match_single_characters()
    {
        using var dir = Tree("s/part-0.parquet", "s/part-1.parquet", "s/part-2.parquet", "s/part-10.parquet");
        Matches(dir, "s/part-?.parquet").Should().Equal("part-0.parquet", "part-1.parquet", "part-2.parquet");
        Matches(dir, "s/part-[01].parquet").Should().Equal("part-0.parquet", "part-1.parquet");
        Matches(dir, "s/part-[!01].parquet").Should().Equal("part-2.parquet");
    }

    [Fact]
    public void A_glob_matching_nothing_fails_naming_the_glob()
    {
        using var dir = Tree("data/a.parquet");
        var glob = Path.Combine(dir.Path, "data", "*.jsonl");
        var act = () => CorpusFiles.Resolve(glob);
        act.Should().Throw<FileNotFoundException>().WithMessage($"*{glob}*");
        CorpusReader.Exists(glob).Should().BeFalse();
        CorpusReader.Exists(Path.Combine(dir.Path, "data", "*.parquet")).Should().BeTrue();
    }
}
