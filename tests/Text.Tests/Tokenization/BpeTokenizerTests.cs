using System.Text;
using FluentAssertions;
using Reweighting.Text.Tokenization;
using Xunit;

namespace Reweighting.Text.Tests.Tokenization;

public class BpeTokenizerTests
{
    private static int Id(BpeTokenizer t, string token) => t.TokenToId(token) ?? throw new InvalidOperationException($"no token {token}");

    [Fact]
    public void Merges_apply_in_rank_order_not_text_order()
    {
        // "b c" outranks "a b", so "abc" becomes a + bc even though "ab" comes first in the text.
        var tokenizer = TinyVocabulary.Build("b c", "a b");
        tokenizer.Encode("abc").Should().Equal(Id(tokenizer, "a"), Id(tokenizer, "bc"));

        var swapped = TinyVocabulary.Build("a b", "b c");
        swapped.Encode("abc").Should().Equal(Id(swapped, "ab"), Id(swapped, "c"));
    }

    [Fact]
    public void A_merge_applies_to_all_occurrences_left_to_right_before_the_next_rank()
    {
        var tokenizer = TinyVocabulary.Build("a a", "aa aa", "aa a");
        tokenizer.Encode("aaa").Should().Equal(Id(tokenizer, "aaa"));    // [aa, a] then "aa a"
        tokenizer.Encode("aaaa").Should().Equal(Id(tokenizer, "aaaa"));  // [aa, aa] then "aa aa"
        tokenizer.Encode("aaaaa").Should().Equal(Id(tokenizer, "aaaa"), Id(tokenizer, "a"));
    }

    [Fact]
    public void Words_never_merge_across_pre_tokeniser_boundaries()
    {
        var tokenizer = TinyVocabulary.Build("Ġ t", "h e", "Ġt he", "e Ġ");
        tokenizer.Encode(" the").Should().Equal(Id(tokenizer, "Ġthe"));
        // "e Ġ" would join "the" and " " but they are different words.
        tokenizer.Encode("the the").Should().Equal(Id(tokenizer, "t"), Id(tokenizer, "he"), Id(tokenizer, "Ġthe"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Hello, world! The model reads every document.")]
    [InlineData("   leading and trailing   ")]
    [InlineData("tabs\tand\nnew\r\nlines\n\n\n")]
    [InlineData("    \n\t  \u3000 ")]
    [InlineData("café naïve résumé façade")]
    [InlineData("東京は日本の首都です。")]
    [InlineData("emoji 😀👍🏽 family 👨‍👩‍👧 flag 🇫🇷")]
    [InlineData("combining e\u0301 a\u0308 and RTL \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627")]
    [InlineData("math \U0001D400\U0001D401 ancient \U00010330 zero\u200bwidth")]
    [InlineData("it's they're we'll I'D don't")]
    [InlineData("<|endoftext|> appears as plain text")]
    public void Text_round_trips_exactly(string text)
    {
        foreach (var tokenizer in new[] { TinyVocabulary.English, TinyVocabulary.Build() })
        {
            var ids = tokenizer.Encode(text);
            tokenizer.Decode(ids).Should().Be(text);
            tokenizer.DecodeStrict(ids).Should().Be(text);
            tokenizer.EncodeBytes(Encoding.UTF8.GetBytes(text)).Should().Equal(ids, "valid UTF-8 bytes encode as the text does");
        }
    }

    [Fact]
    public void Empty_text_encodes_to_no_ids_and_no_ids_decode_to_empty_text()
    {
        TinyVocabulary.English.Encode("").Should().BeEmpty();
        TinyVocabulary.English.Decode([]).Should().BeEmpty();
        TinyVocabulary.English.EncodeBytes([]).Should().BeEmpty();
    }

    [Fact]
    public void Trained_merges_compress_english_and_the_cache_gives_the_same_ids_twice()
    {
        var tokenizer = TinyVocabulary.English;
        var text = string.Join(" ", EnglishText.Paragraphs);
        var first = tokenizer.Encode(text);
        first.Length.Should().BeLessThan(Encoding.UTF8.GetByteCount(text) / 2);
        tokenizer.Encode(text).Should().Equal(first);
    }

    [Fact]
    public void Cached_encoding_equals_the_plain_gpt2_procedure_word_by_word()
    {
        var tokenizer = TinyVocabulary.English;
        foreach (var word in Gpt2PreTokenizer.Split(string.Join("\n", EnglishText.Paragraphs)))
            tokenizer.Encode(word).Should().Equal(tokenizer.EncodeWordReference(word), $"for word \"{word}\"");
    }

    [Fact]
    public void Long_words_merge_through_the_queue_exactly_as_by_scanning()
    {
        var tokenizer = TinyVocabulary.English;
        var random = new Random(11);
        var letters = "etaoinshrdlucmwfgypbvk";
        var words = new List<string> { new('a', 301), new('e', 64), string.Concat(Enumerable.Repeat("the", 40)) };
        for (var i = 0; i < 200; i++)
            words.Add(string.Concat(Enumerable.Range(0, random.Next(2, 400)).Select(_ => letters[random.Next(letters.Length)])));
        foreach (var word in words)
            tokenizer.EncodeWordWithQueue(word).Should().Equal(tokenizer.EncodeWordReference(word), $"for word \"{word}\"");
        tokenizer.Encode(words[^1]).Should().Equal(tokenizer.EncodeWordReference(words[^1]));
    }

    [Fact]
    public void End_of_text_is_recognised_only_when_asked()
    {
        var tokenizer = TinyVocabulary.English;
        var eot = tokenizer.EndOfTextId;
        tokenizer.Encode("one<|endoftext|>two", allowSpecialTokens: true)
            .Should().Equal([.. tokenizer.Encode("one"), eot, .. tokenizer.Encode("two")]);
        var plain = tokenizer.Encode("one<|endoftext|>two");
        plain.Should().NotContain(eot);
        tokenizer.Decode(plain).Should().Be("one<|endoftext|>two");
        tokenizer.Decode([eot]).Should().Be("<|endoftext|>");
        tokenizer.IdToToken(eot).Should().Be("<|endoftext|>");
        tokenizer.Encode("<|endoftext|><|endoftext|>", allowSpecialTokens: true).Should().Equal(eot, eot);
    }

    [Fact]
    public void Vocab_size_is_the_highest_id_plus_one_and_end_of_text_is_last_in_a_trained_vocabulary()
    {
        TinyVocabulary.English.VocabSize.Should().Be(400);
        TinyVocabulary.English.EndOfTextId.Should().Be(399);
    }

    [Fact]
    public void Invalid_utf8_round_trips_through_the_byte_paths()
    {
        var tokenizer = TinyVocabulary.English;
        byte[][] inputs =
        [
            [0xFF],
            [0x41, 0x80, 0x42],
            [0xC3],                                // truncated two-byte sequence
            [0xE2, 0x82],                          // truncated three-byte sequence
            [0xED, 0xA0, 0x80],                    // an encoded surrogate
            [0xC0, 0xAF],                          // overlong '/'
            [.. "the model "u8, 0xFE, 0xFE, .. " reads"u8, 0xF0, 0x9F],
            [.. Enumerable.Range(0, 256).Select(b => (byte)b)],
        ];
        foreach (var bytes in inputs)
        {
            var ids = tokenizer.EncodeBytes(bytes);
            tokenizer.DecodeBytes(ids).Should().Equal(bytes);
            tokenizer.Decode(ids).Should().Be(Encoding.UTF8.GetString(bytes), "text decoding substitutes U+FFFD as UTF-8 decoding does");
        }
    }

    [Fact]
    public void Strict_decoding_of_ids_that_spell_invalid_utf8_fails_clearly()
    {
        var tokenizer = TinyVocabulary.English;
        var ids = tokenizer.EncodeBytes([0x41, 0xFF]);
        tokenizer.Decode(ids).Should().Be("A\uFFFD");
        tokenizer.Invoking(t => t.DecodeStrict(ids)).Should().Throw<ArgumentException>().WithMessage("*not spell valid UTF-8*");
    }

    [Fact]
    public void Splitting_a_character_across_tokens_still_decodes_the_whole_sequence()
    {
        var tokenizer = TinyVocabulary.Build();
        var ids = tokenizer.Encode("東");
        ids.Should().HaveCount(3, "three UTF-8 bytes and no merges");
        tokenizer.Decode(ids[..1]).Should().Be("\uFFFD");
        tokenizer.Decode(ids).Should().Be("東");
    }

    [Fact]
    public void Lone_surrogates_encode_as_the_replacement_character()
    {
        var tokenizer = TinyVocabulary.English;
        tokenizer.Decode(tokenizer.Encode("a\ud800b")).Should().Be("a\uFFFDb");
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(400)]
    [InlineData(int.MaxValue)]
    public void Unknown_ids_fail_with_an_argument_exception_naming_the_id(int id)
    {
        var tokenizer = TinyVocabulary.English;
        tokenizer.Invoking(t => t.Decode([1, id])).Should().Throw<ArgumentException>().WithMessage($"*{id}*not in the vocabulary*");
        tokenizer.Invoking(t => t.DecodeBytes([id])).Should().Throw<ArgumentException>();
        tokenizer.Invoking(t => t.IdToToken(id)).Should().Throw<ArgumentException>();
    }

    [Theory]
    [InlineData("Hello, world! The model reads every document.")]
    [InlineData("café naïve résumé")]
    [InlineData("東京は日本の首都です。 emoji 😀👍🏽 👨‍👩‍👧")]
    [InlineData("one<|endoftext|>two")]
    public void Counted_bytes_are_the_utf8_bytes_of_the_text_and_of_every_slice_of_its_ids(string text)
    {
        foreach (var tokenizer in new[] { TinyVocabulary.English, TinyVocabulary.Build() })
        {
            var ids = tokenizer.Encode(text, allowSpecialTokens: true);

            tokenizer.CountBytes(ids).Should().Be(Encoding.UTF8.GetByteCount(text));
            // A window of the scorer is a slice; its count must be the bytes those ids decode to, split characters included.
            for (var start = 0; start < ids.Length; start++)
                tokenizer.CountBytes(ids.AsSpan(start, Math.Min(3, ids.Length - start)))
                    .Should().Be(tokenizer.DecodeBytes(ids.AsSpan(start, Math.Min(3, ids.Length - start))).Length, $"ids from {start}");
        }
    }

    [Fact]
    public void Counting_the_bytes_of_an_unknown_id_fails_naming_it()
    {
        TinyVocabulary.English.Invoking(t => t.CountBytes([1, 400]))
            .Should().Throw<ArgumentException>().WithMessage("*400*not in the vocabulary*");
    }

    [Fact]
    public void A_vocabulary_without_every_byte_is_refused()
    {
        var vocab = TinyVocabulary.Vocabulary([]);
        vocab.Remove("Ġ");
        var act = () => new BpeTokenizer(vocab, []);
        act.Should().Throw<ArgumentException>().WithMessage("*byte 0x20*");
    }

    [Fact]
    public void A_merge_whose_result_is_not_in_the_vocabulary_is_refused()
    {
        var act = () => new BpeTokenizer(TinyVocabulary.Vocabulary([]), [("a", "b")]);
        act.Should().Throw<ArgumentException>().WithMessage("*merge 1*ab*not in the vocabulary*");
    }

    [Fact]
    public void Concurrent_encoding_gives_the_same_ids_as_sequential_encoding()
    {
        var tokenizer = BpeTrainer.Train(EnglishText.Paragraphs, 500);
        var texts = Enumerable.Range(0, 64).Select(i => EnglishText.Paragraphs[i % EnglishText.Paragraphs.Length] + $" run {i}").ToArray();
        var expected = texts.Select(t => tokenizer.EncodeWordReferenceText(t)).ToArray();
        var actual = new int[texts.Length][];
        Parallel.For(0, texts.Length, i => actual[i] = tokenizer.Encode(texts[i]));
        for (var i = 0; i < texts.Length; i++) actual[i].Should().Equal(expected[i]);
    }
}

internal static class ReferenceEncoding
{
    /// <summary>Encodes text word by word with the uncached GPT-2 procedure.</summary>
    public static int[] EncodeWordReferenceText(this BpeTokenizer tokenizer, string text) =>
        Gpt2PreTokenizer.Split(text).SelectMany(tokenizer.EncodeWordReference).ToArray();
}
