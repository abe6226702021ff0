using System.Globalization;
using System.Text;
using FluentAssertions;
using TiktokenTokenizer = Microsoft.ML.Tokenizers.TiktokenTokenizer;
using Reweighting.Text.Corpus;
using Reweighting.Text.Tokenization;
using Xunit;
using Xunit.Abstractions;

namespace Reweighting.Text.Tests.Tokenization;

/// <summary>The project's encoder with GPT-2's vocabulary against an independent implementation: Microsoft.ML.Tokenizers.</summary>
/// <remarks>
/// Both encoders recognise &lt;|endoftext|&gt; in the text here (the library always does), so the project encodes with
/// <c>allowSpecialTokens: true</c>. Lone UTF-16 surrogates are left out of the generated text: they are not text, and the
/// library writes one as three ill-formed UTF-8 bytes (U+D800 → ED A0 80) where the project, like tiktoken and Hugging
/// Face's tokenizers, writes U+FFFD; <see cref="A_lone_surrogate_is_encoded_as_the_replacement_character"/> pins ours.
/// Supplementary-plane letters and numbers (CJK extension B, mathematical alphanumerics, ...) are generated only apart
/// from other words: the library's regex runs on UTF-16 and sees such a character as two surrogates, so "𪛖'll" splits
/// as "𪛖'" + "ll" there, while GPT-2's pattern on code points (Python's <c>regex</c>, tiktoken, Hugging Face) and ours
/// give "𪛖" + "'ll"; <see cref="Supplementary_plane_letters_are_letters_as_in_gpt2_where_the_library_sees_surrogates"/>
/// pins both.
/// </remarks>
public class LibraryParityTests(ITestOutputHelper output)
{
    private static readonly BpeTokenizer Project = Gpt2Vocabulary.Create();
    private static readonly TiktokenTokenizer Library = TiktokenTokenizer.CreateForModel("gpt2");

    [Theory]
    [InlineData("Hello world")]
    [InlineData("it's they're we've I'm you'll he'd don't IT'S We'RE")]
    [InlineData("a   b\n\n c\t\t\td  \r\n\r\n  ")]
    [InlineData("   leading and trailing   ")]
    [InlineData("numbers 12345678901234567890 3.14159 1,000,000 ١٢٣ ⅷ ½")]
    [InlineData("café naïve e\u0301 a\u0308\u0304 Z\u0351\u0352\u0353a\u0354\u0355l\u0356g\u0357o")]
    [InlineData("東京は日本の首都です。中文字符，한국어 텍스트")]
    [InlineData("\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \u200f\u202eRTL\u202c")]
    [InlineData("family 👨‍👩‍👧‍👦 skin 👍🏽 flag 🇫🇷🇯🇵 keycap 1️⃣ 😀😀😀")]
    [InlineData("controls \u0000\u0001\u0007\u001b[31m\u007f\u0085\u00ad\u200b\u200d\ufeff end")]
    [InlineData("math \U0001D400\U0001D401 gothic \U00010330 cjk-b \U00020000\U00020001 digits \U0001D7CE\U0001D7CF")] // apart: same words
    [InlineData("<|endoftext|>two documents<|endoftext|>")]
    [InlineData("")]
    public void Known_hard_strings_encode_to_the_librarys_ids(string text) => AssertSame(text);

    [Fact]
    public void Long_words_encode_to_the_librarys_ids()
    {
        AssertSame(new string('a', 5000));
        AssertSame("supercalifragilisticexpialidocious" + string.Concat(Enumerable.Repeat("antidisestablishmentarianism", 40)));
        AssertSame(new string('!', 3000) + " " + new string('7', 3000) + " " + string.Concat(Enumerable.Repeat("東京", 800)));
        AssertSame(new string(' ', 4000) + "x" + new string('\n', 4000));
    }

    [Fact]
    public void Generated_documents_with_unusual_unicode_encode_to_the_librarys_ids()
    {
        var random = new Random(22);
        var documents = 0;
        long tokens = 0;
        for (var d = 0; d < 3000; d++)
        {
            var text = GeneratedDocument(random);
            tokens += AssertSame(text);
            documents++;
        }
        output.WriteLine($"{documents} generated documents, {tokens} tokens, identical ids");
        tokens.Should().BeGreaterThan(200_000, "the generated text is large enough to exercise the vocabulary");
    }

    [Fact]
    public void Synthetic_english_encodes_to_the_librarys_ids()
    {
        var text = SyntheticEnglish.Generate(2_000_000, seed: 5);
        foreach (var document in text.Split("\n\n")) AssertSame(document);
    }

    [Theory]
    [InlineData("\U0002A6D6'll", new[] { "\U0002A6D6", "'ll" })]
    [InlineData("a\U0001D400b", new[] { "a\U0001D400b" })]
    [InlineData("x\U0001D7CE7", new[] { "x", "\U0001D7CE7" })]
    public void Supplementary_plane_letters_are_letters_as_in_gpt2_where_the_library_sees_surrogates(string text, string[] gpt2Words)
    {
        // GPT-2's pattern run on code points (checked with Python's regex module) gives these words, and so do we.
        Gpt2PreTokenizer.Split(text).Should().Equal(gpt2Words);
        Project.Encode(text).Should().Equal(gpt2Words.SelectMany(w => Project.Encode(w)));
        // The library splits at the surrogates instead; if this starts failing, it reads code points now and the
        // generated text may mix these characters with other words again.
        Library.PreTokenizer!.PreTokenize(text).Select(w => text.Substring(w.Offset, w.Length)).Should().NotEqual(gpt2Words);
    }

    [Fact]
    public void A_lone_surrogate_is_encoded_as_the_replacement_character()
    {
        Project.Encode("x\ud800y").Should().Equal(Project.Encode("x\ufffdy"));
        Project.Encode("\udc00").Should().Equal(Project.Encode("\ufffd"));
    }

    private static int AssertSame(string text)
    {
        var expected = Library.EncodeToIds(text);
        var actual = Project.Encode(text, allowSpecialTokens: true);
        if (!actual.SequenceEqual(expected))
        {
            var at = 0;
            while (at < actual.Length && at < expected.Count && actual[at] == expected[at]) at++;
            var from = Math.Max(0, at - 4);
            var context = Escape(Encoding.UTF8.GetString(Project.DecodeBytes(actual.AsSpan(from, Math.Min(10, actual.Length - from)))));
            throw new Xunit.Sdk.XunitException(
                $"ids differ at token {at} of {expected.Count} ({context}): project [{string.Join(",", actual.Skip(at).Take(6))}], " +
                $"library [{string.Join(",", expected.Skip(at).Take(6))}] in \"{Escape(text.Length > 200 ? text[..200] + "..." : text)}\"");
        }
        return actual.Length;
    }

    private static string Escape(string s) =>
        string.Concat(s.Select(c => c < 32 || c is >= '\u007f' and <= '\u00a0' || char.IsSurrogate(c) || c is > '\u2000' and < '\u2100'
            ? $"\\u{(int)c:x4}"
            : c.ToString()));

    // Fragments chosen to hit every branch of the pre-tokeniser and awkward byte sequences.
    private static readonly string[] Words =
    [
        "the", "model", "reads", "every", "document", "Hello", "WORLD", "naïve", "façade", "Ærøskøbing", "straße", "İstanbul",
        "東京", "北京大学", "こんにちは", "カタカナ", "한국어", "שלום", "مرحبا", "Привет", "Ελληνικά", "हिन्दी", "ภาษาไทย", "ሰላም",
        "e\u0301", "a\u0308\u0304", "n\u0303", "\u0915\u094d\u0937", "Z\u0351\u0352a\u0353l\u0354g\u0355o",
        "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "1️⃣", "❤️", "\U0001F9D1\u200D\U0001F4BB",
        "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "''", "'", "don't", "we'll", "I'd", "ain't",
        "12345", "0", "3.14", "1,000", "٣٤٥", "१२३", "Ⅻ", "½", "²", "①",
        "!", "?!", "...", "—", "–", "«»", "“quoted”", "(paren)", "[x]", "{y}", "<|endoftext|>", "<|", "|>", "#", "@user",
        "https://example.com/a?b=c",
        "\u0000", "\u0001", "\u001b[0m", "\u007f", "\u0085", "\u00ad", "\u200b", "\u200d", "\u200e", "\u202e", "\ufeff", "\ue000",
        "\uffff", "\ufffd",
    ];

    private static readonly string[] Spaces =
        [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000", "\u2028", "\u2029", "\u000b", "\u000c", " \t \n"];

    private static string GeneratedDocument(Random random)
    {
        var text = new StringBuilder();
        var pieces = random.Next(1, 120);
        for (var i = 0; i < pieces; i++)
        {
            switch (random.Next(12))
            {
                case 0: text.Append(new string(' ', random.Next(1, 40))); break;
                case 1: text.Append(Spaces[random.Next(Spaces.Length)]); break;
                case 2: text.Append(Digits(random, random.Next(1, 60))); break;
                case 3: text.Append(LongWord(random)); break;
                case 4: text.Append(RandomCodePoints(random, random.Next(1, 12))); break;
                default: text.Append(Words[random.Next(Words.Length)]); break;
            }
            text.Append(random.Next(4) == 0 ? Spaces[random.Next(Spaces.Length)] : random.Next(3) == 0 ? "" : " ");
        }
        return text.ToString();
    }

    private static bool IsLetterOrNumber(UnicodeCategory c) =>
        c is <= UnicodeCategory.OtherLetter or (>= UnicodeCategory.DecimalDigitNumber and <= UnicodeCategory.OtherNumber);

    private static string Digits(Random random, int n) => string.Concat(Enumerable.Range(0, n).Select(_ => (char)('0' + random.Next(10))));

    private static string LongWord(Random random)
    {
        var n = random.Next(50, 400);
        var alphabet = random.Next(3) switch { 0 => "abcdefghijklmnopqrstuvwxyz", 1 => "etaoinshrdlu", _ => "ab" };
        return string.Concat(Enumerable.Range(0, n).Select(_ => alphabet[random.Next(alphabet.Length)]));
    }

    /// <summary>Random scalar values from every plane (never a lone surrogate; no supplementary letter or number, see above).</summary>
    private static string RandomCodePoints(Random random, int n)
    {
        var text = new StringBuilder();
        for (var i = 0; i < n; i++)
        {
            var cp = random.Next(4) switch
            {
                0 => random.Next(0x20, 0x250),
                1 => random.Next(0x250, 0x3000),
                2 => random.Next(0x3000, 0x10000),
                _ => random.Next(0x10000, 0x32000),
            };
            if (cp is >= 0xD800 and <= 0xDFFF) cp = 0xFFFD;
            if (cp >= 0x10000 && IsLetterOrNumber(CharUnicodeInfo.GetUnicodeCategory(cp))) cp = 0x1F600 + cp % 80; // an emoji instead
            text.Append(char.ConvertFromUtf32(cp));
        }
        return text.ToString();
    }
}
