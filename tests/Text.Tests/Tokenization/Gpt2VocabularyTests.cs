using System.Text;
using FluentAssertions;
using Reweighting.Text.Tokenization;
using Xunit;

namespace Reweighting.Text.Tests.Tokenization;

public class Gpt2VocabularyTests
{
    private static readonly BpeTokenizer Gpt2 = Gpt2Vocabulary.Create();

    [Fact]
    public void The_built_in_vocabulary_has_gpt2s_size_merges_and_end_of_text()
    {
        Gpt2.VocabSize.Should().Be(50257);
        Gpt2.Merges.Should().HaveCount(50000, "every GPT-2 token past the 256 bytes is one merge");
        Gpt2.EndOfTextId.Should().Be(50256);
        // The head of GPT-2's vocab.bpe, derived here from ranks alone.
        Gpt2.Merges.Take(7).Should().Equal(("Ġ", "t"), ("Ġ", "a"), ("h", "e"), ("i", "n"), ("r", "e"), ("o", "n"), ("Ġt", "he"));
    }

    [Theory]
    [InlineData("Hello world", new[] { 15496, 995 })]
    [InlineData(" the", new[] { 262 })]
    [InlineData("\n\n", new[] { 628 })]
    [InlineData("it's", new[] { 270, 338 })]
    public void Encodes_known_strings_to_gpt2s_ids(string text, int[] expected) => Gpt2.Encode(text).Should().Equal(expected);

    [Fact]
    public void Gpt2_is_a_name_and_other_values_are_directories()
    {
        TokenizerSource.Load("gpt2").VocabSize.Should().Be(50257);
        using var dir = new TempDirectory();
        TinyVocabulary.Build("a b").Save(dir.Path);
        TokenizerSource.Load(dir.Path).VocabSize.Should().Be(258);
        var missing = Path.Combine(dir.Path, "gpt2");
        FluentActions.Invoking(() => TokenizerSource.Load(missing)).Should().Throw<TokenizerFormatException>();
    }

    [Fact]
    public void A_token_reachable_two_ways_takes_the_split_that_rank_order_builds()
    {
        // "abc" can be ab+c or a+bc; with "bc" ranked below "ab", rank-ordered encoding of "abc" joins b,c first.
        var bcFirst = Ranks("bc", "ab", "abc").ToTokenizer(new Dictionary<string, int>(), "test");
        bcFirst.Merges.Should().Equal(("b", "c"), ("a", "b"), ("a", "bc"));
        var abFirst = Ranks("ab", "bc", "abc").ToTokenizer(new Dictionary<string, int>(), "test");
        abFirst.Merges.Should().Equal(("a", "b"), ("b", "c"), ("ab", "c"));
        abFirst.Encode("abc").Should().Equal(258);
    }

    [Fact]
    public void A_token_that_rank_order_cannot_build_keeps_its_id_but_gets_no_merge()
    {
        // "abc" ranks below both of its halves, so no pair of earlier tokens forms it.
        var tokenizer = Ranks("abc", "ab").ToTokenizer(new Dictionary<string, int>(), "test");
        tokenizer.Merges.Should().Equal(("a", "b"));
        tokenizer.TokenToId("abc").Should().Be(256);
        tokenizer.Encode("abc").Should().Equal(257, tokenizer.TokenToId("c")!.Value);
    }

    [Fact]
    public void Explicit_ranks_may_come_in_any_order()
    {
        var lines = Enumerable.Range(0, 256).Select(b => $"{Convert.ToBase64String([(byte)b])} {b}").Reverse();
        var ranks = TiktokenRanks.Read(Stream(string.Join("\n", lines)), "test");
        ranks.Count.Should().Be(256);
        ranks[65].ToArray().Should().Equal((byte)65);
    }

    [Theory]
    [InlineData("!!notbase64", "test:257")]
    [InlineData("YWI= 7", "test:257")]
    [InlineData("YWI= x", "test:257")]
    public void A_corrupt_rank_file_is_refused_with_its_line(string badLine, string where)
    {
        var text = string.Join("\n", ByteLines()) + "\n" + badLine;
        FluentActions.Invoking(() => TiktokenRanks.Read(Stream(text), "test"))
            .Should().Throw<TokenizerFormatException>().Where(e => e.Path == where);
    }

    [Fact]
    public void A_rank_file_missing_a_byte_or_a_rank_is_refused()
    {
        var withoutByte = string.Join("\n", ByteLines().Skip(1).Select((l, i) => $"{l} {i}"));
        FluentActions.Invoking(() => TiktokenRanks.Read(Stream(withoutByte), "test"))
            .Should().Throw<TokenizerFormatException>().WithMessage("*no token for byte 0x00*");
        var gap = string.Join("\n", ByteLines().Select((l, i) => $"{l} {i}")) + "\nYWI= 300";
        FluentActions.Invoking(() => TiktokenRanks.Read(Stream(gap), "test"))
            .Should().Throw<TokenizerFormatException>().WithMessage("*rank 256 is missing*");
    }

    private static IEnumerable<string> ByteLines() => Enumerable.Range(0, 256).Select(b => Convert.ToBase64String([(byte)b]));

    /// <summary>A rank file: the 256 bytes as ranks 0..255, then the given ASCII tokens in order.</summary>
    private static TiktokenRanks Ranks(params string[] tokens)
    {
        var lines = ByteLines().Concat(tokens.Select(t => Convert.ToBase64String(Encoding.ASCII.GetBytes(t))));
        return TiktokenRanks.Read(Stream("Capacity: 300\n" + string.Join("\n", lines)), "test");
    }

    private static MemoryStream Stream(string text) => new(Encoding.UTF8.GetBytes(text));
}
