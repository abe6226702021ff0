using FluentAssertions;
using Reweighting.Statistics;
using Xunit;

namespace Reweighting.Tests;

/// <summary>The order gain the document-level detector uses beside the compression ratio.</summary>
public sealed class WordOrderTests
{
    /// <summary>Shuffled text of this many words measures within this much of 0 (about ±0.002 at 10,000 words, ±0.007 at
    /// 1,000, ±0.015 at 50, measured over 20 word salads each).</summary>
    private const double ShuffledTolerance = 0.002;

    private static readonly string[] Subjects =
        ["the committee", "the treasurer", "several members", "the contractor", "the new library", "the council", "our neighbours"];

    private static readonly string[] Verbs =
        ["agreed to publish", "asked about", "explained the delay of", "reviewed", "could not find", "wrote a letter about"];

    private static readonly string[] Objects =
        ["the revised schedule", "the costs of heating the old hall", "the budget for next year", "the rain in October",
         "the plans for the market square", "a report on the bridge"];

    private static readonly string[] Endings =
        ["before winter", "after a long discussion", "on Tuesday", "at the end of the meeting", "without a vote", "in the spring"];

    /// <summary>English-like prose: sentences drawn from a few subjects, verbs, objects and endings, so phrases recur the way
    /// they do in real prose.</summary>
    private static string Prose(int words, int seed)
    {
        var random = new Random(seed);
        var text = new List<string>();
        while (text.Sum(s => s.Split(' ').Length) < words)
        {
            var sentence = $"{Pick(Subjects)} {Pick(Verbs)} {Pick(Objects)} {Pick(Endings)}.";
            text.Add(char.ToUpperInvariant(sentence[0]) + sentence[1..]);
        }
        return string.Join(' ', text);
        string Pick(string[] options) => options[random.Next(options.Length)];
    }

    [Fact]
    public void Shuffled_text_has_no_order_gain_and_the_same_prose_in_order_clearly_has_one()
    {
        var prose = Prose(20_000, seed: 3);
        var words = prose.Split(' ');
        new Random(11).Shuffle(words);
        var shuffled = string.Join(' ', words);

        var ordered = WordOrder.Gain(prose);
        var salad = WordOrder.Gain(shuffled);

        salad.Should().BeApproximately(0, ShuffledTolerance, "a random order loses nothing to another random order");
        ordered.Should().BeGreaterThan(0.05, "shuffling breaks the repeated phrases up");
        TextCompression.Ratio(shuffled).Should().BeGreaterThan(TextCompression.Ratio(prose), "the same words, less compressible");
    }

    /// <summary>Prose as people write it: some phrases recur ("the old hall", "the committee"), most words do not.</summary>
    private const string Minutes =
        "The committee met on Tuesday to review the budget for the old hall. Several members asked whether the new library " +
        "could open before winter, and the treasurer explained that the contractor had been delayed by the rain in October. " +
        "The committee asked the treasurer to write to the contractor. After a long discussion the members agreed to publish " +
        "the revised schedule next month, together with the costs of heating the old hall through the winter. The chair " +
        "thanked the treasurer for the report on the budget, and asked the members to read the revised schedule before the " +
        "next meeting of the committee. Mrs Patel raised the question of the car park behind the old hall, which floods " +
        "every spring; the committee agreed to ask the council for a report on the car park before the next meeting. The " +
        "meeting closed at nine, and the next meeting of the committee will be held in the old hall on the first Tuesday of " +
        "the month.";

    [Fact]
    public void Prose_gains_from_its_order_and_boilerplate_more()
    {
        var boilerplate = string.Join('\n', Enumerable.Range(0, 30).Select(i =>
            $"Home | About us | Contact | Privacy policy | Terms of use\nCopyright 2024 Example Corp. All rights reserved. Page {i}"));

        var proseGain = WordOrder.Gain(Minutes);
        var boilerplateGain = WordOrder.Gain(boilerplate);

        proseGain.Should().BeGreaterThan(0.01, "a shuffle breaks its recurring phrases up (0.0196 measured)");
        boilerplateGain.Should().BeGreaterThan(5 * proseGain, "its repeated lines are long phrases (0.189 measured)");
    }

    [Fact]
    public void The_same_text_has_the_same_order_gain_in_every_call_and_process()
    {
        var prose = Prose(300, seed: 7);

        WordOrder.Gain(prose).Should().Be(WordOrder.Gain(new string(prose.AsSpan())));
        // The shuffle's seed is FNV-1a of the UTF-8 bytes (published test vectors), not string.GetHashCode, which a process
        // randomises: the same text is shuffled alike everywhere.
        ((uint)WordOrder.Seed("")).Should().Be(0x811c9dc5);
        ((uint)WordOrder.Seed("a")).Should().Be(0xe40c292c);
        ((uint)WordOrder.Seed("foobar")).Should().Be(0xbf9cf968);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n\t ")]
    public void A_text_without_words_has_no_order_gain(string text)
    {
        WordOrder.Gain(text).Should().Be(double.NaN);
    }

    [Theory]
    [InlineData("word")]
    [InlineData("\u00a0 one\u2003\n")]
    public void A_single_word_has_no_order_to_lose(string text)
    {
        WordOrder.Gain(text).Should().Be(0);
    }

    [Fact]
    public void Words_are_split_on_any_whitespace_and_joined_by_single_spaces()
    {
        // The same words with other whitespace between them are the same ordered and shuffled strings; only the seed (a
        // hash of the text as given) may differ, so two words in order and shuffled compress alike either way.
        WordOrder.Gain("alpha\u2003\u00a0beta").Should().BeApproximately(0, 1e-12);
        WordOrder.Gain("alpha beta").Should().Be(0, "two words compress to the same size in either order");
        double.IsFinite(WordOrder.Gain("alpha\tbeta gamma\r\ndelta")).Should().BeTrue();
    }

    [Fact]
    public void A_document_keeps_its_order_gain_when_its_windows_merge()
    {
        var first = new LossStatistics(10, 2.0, 5.0, 40, Compression: 0.5, OrderGain: 0.03);
        var second = new LossStatistics(6, 3.0, 1.0, 30);

        first.Merge(second).OrderGain.Should().Be(0.03);
        second.Merge(first).OrderGain.Should().Be(0.03);
        LossStatistics.Of([1f, 2f], 8).OrderGain.Should().Be(double.NaN, "a window does not know its document's order gain");
    }
}
