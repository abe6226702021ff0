using FluentAssertions;
using Reweighting.Text.Corpus;
using Xunit;

namespace Reweighting.Text.Tests;

public sealed class SampleCorpusTests
{
    [Fact]
    public void The_same_seed_gives_the_same_documents_and_another_seed_different_ones()
    {
        var a = SampleCorpus.Generate(40, seed: 3).ToList();
        var b = SampleCorpus.Generate(40, seed: 3).ToList();
        var c = SampleCorpus.Generate(40, seed: 4).ToList();
        a.Should().Equal(b);
        a.Select(r => r.Text).Should().NotIntersectWith(c.Select(r => r.Text));
        SampleCorpus.Generate(10, seed: 3).Should().Equal(a.Take(10), "a shorter corpus is a prefix of a longer one");
    }

    [Fact]
    public void Domains_rotate_with_their_own_structure_and_ids_are_unique()
    {
        var docs = SampleCorpus.Generate(80, seed: 1).ToList();
        docs.Select(d => d.Id).Should().OnlyHaveUniqueItems();
        docs.GroupBy(d => d.Domain).Select(g => g.Count()).Should().AllBeEquivalentTo(20);
        docs.Where(d => d.Domain == "code").Should().OnlyContain(d => d.Text.StartsWith("def ") && d.Text.Contains("return result"));
        docs.Where(d => d.Domain == "howto").Should().OnlyContain(d => d.Text.StartsWith("How to ") && d.Text.Contains("Steps:\n1. "));
        docs.Where(d => d.Domain == "dialogue").Should().OnlyContain(d => d.Text.Contains(": "));
        docs.Should().OnlyContain(d => d.Text.Length > 100);
        FluentActions.Invoking(() => SampleCorpus.Generate(0).ToList()).Should().Throw<ArgumentOutOfRangeException>();
    }
}
