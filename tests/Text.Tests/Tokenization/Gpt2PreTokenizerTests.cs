using FluentAssertions;
using Reweighting.Text.Tokenization;
using Xunit;

namespace Reweighting.Text.Tests.Tokenization;

public class Gpt2PreTokenizerTests
{
    // Expectations derived by hand from GPT-2's pattern, alternative by alternative.
    [Theory]
    [InlineData("Hello world's  end!!", new[] { "Hello", " world", "'s", " ", " end", "!!" })]
    [InlineData("I'm can't they're we've he'll she'd", new[] { "I", "'m", " can", "'t", " they", "'re", " we", "'ve", " he", "'ll", " she", "'d" })]
    [InlineData("DON'T", new[] { "DON", "'", "T" })]
    [InlineData("'sun", new[] { "'s", "un" })]
    [InlineData("it's'", new[] { "it", "'s", "'" })]
    [InlineData("!!'s", new[] { "!!'", "s" })]
    [InlineData("abc123 45", new[] { "abc", "123", " 45" })]
    [InlineData("3.14", new[] { "3", ".", "14" })]
    [InlineData("a\n\nb", new[] { "a", "\n", "\n", "b" })]
    [InlineData("  hi  ", new[] { " ", " hi", "  " })]
    [InlineData("x!?  y", new[] { "x", "!?", " ", " y" })]
    [InlineData(" !!", new[] { " !!" })]
    [InlineData("\t a", new[] { "\t", " a" })]
    [InlineData("\ta", new[] { "\t", "a" })]
    [InlineData("hello\r\nworld", new[] { "hello", "\r", "\n", "world" })]
    [InlineData("end   ", new[] { "end", "   " })]
    [InlineData(" ", new[] { " " })]
    [InlineData("café 東京 😀😀", new[] { "café", " 東京", " 😀😀" })]
    [InlineData("e\u0301t\u00e9", new[] { "e", "\u0301", "t\u00e9" })]
    [InlineData("\u0645\u0631\u062d\u0628\u0627 \u0661\u0662", new[] { "\u0645\u0631\u062d\u0628\u0627", " \u0661\u0662" })]
    [InlineData("a\u00a0b", new[] { "a", "\u00a0", "b" })]
    public void Splits_known_strings_as_gpt2s_pattern_does(string text, string[] expected)
    {
        Gpt2PreTokenizer.Split(text).Should().Equal(expected);
        Gpt2PreTokenizer.ReferenceRegex.Matches(text).Select(m => m.Value).Should().Equal(expected, "the .NET regex of the same pattern agrees on BMP text");
    }

    [Fact]
    public void Empty_text_has_no_words() => Gpt2PreTokenizer.Split("").Should().BeEmpty();

    [Fact]
    public void Supplementary_plane_letters_are_letters_as_in_gpt2s_python_regex()
    {
        // U+1D400 (mathematical bold A) and U+20000 (a CJK ideograph) are letters; .NET's Regex would see surrogates.
        Gpt2PreTokenizer.Split("a\U0001D400b \U00020000x").Should().Equal("a\U0001D400b", " \U00020000x");
        Gpt2PreTokenizer.Split("7\U0001D7D8").Should().Equal("7\U0001D7D8"); // U+1D7D8 is a decimal digit
    }

    [Fact]
    public void Scanner_matches_the_reference_regex_on_random_bmp_text()
    {
        var alphabet = " \n\t\r'stremvldSTA0129.,!?-_\"()é東\u00a0\u2003\u0301\u0661😀".ToCharArray();
        // Keep surrogate pairs whole so the text stays valid; the emoji is the only supplementary character.
        var pieces = new List<string>();
        for (var i = 0; i < alphabet.Length; i++)
            pieces.Add(char.IsHighSurrogate(alphabet[i]) ? new string(alphabet, i++, 2) : alphabet[i].ToString());
        var random = new Random(7);
        for (var trial = 0; trial < 3000; trial++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(0, 30)).Select(_ => pieces[random.Next(pieces.Count)]));
            var expected = Gpt2PreTokenizer.ReferenceRegex.Matches(text).Select(m => m.Value).ToList();
            Gpt2PreTokenizer.Split(text).Should().Equal(expected, $"for {System.Text.Json.JsonSerializer.Serialize(text)}");
        }
    }
}
