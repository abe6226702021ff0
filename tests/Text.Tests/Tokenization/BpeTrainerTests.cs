using FluentAssertions;
using Reweighting.Text.Tokenization;
using Xunit;

namespace Reweighting.Text.Tests.Tokenization;

public class BpeTrainerTests
{
    /// <summary>Deterministic English-like documents with a Zipf-ish word distribution.</summary>
    internal static List<string> SyntheticCorpus(int documents, int seed = 3)
    {
        var random = new Random(seed);
        var syllables = new[] { "the", "re", "in", "on", "an", "er", "st", "ing", "pro", "con", "ted", "al", "ly", "mo", "del", "ta", "sco" };
        var words = Enumerable.Range(0, 400).Select(_ => string.Concat(Enumerable.Range(0, random.Next(1, 4)).Select(_ => syllables[random.Next(syllables.Length)]))).ToArray();
        return Enumerable.Range(0, documents).Select(_ =>
        {
            var n = random.Next(20, 60);
            var parts = new List<string>();
            for (var i = 0; i < n; i++)
            {
                var w = words[(int)(words.Length * Math.Pow(random.NextDouble(), 3))];
                parts.Add(i == 0 ? char.ToUpperInvariant(w[0]) + w[1..] : w);
                if (random.Next(10) == 0) parts[^1] += random.Next(3) == 0 ? "." : ",";
            }
            return string.Join(" ", parts) + $". It's {random.Next(1000)}!\n";
        }).ToList();
    }

    [Fact]
    public void Ties_are_broken_by_byte_order_of_the_pair()
    {
        // Words: "ab" x1, " ab" x3, " cd" x2. Pair counts: (a,b)=4, (Ġ,a)=3, (Ġ,c)=2, (c,d)=2.
        var tokenizer = BpeTrainer.Train(["ab ab ab ab cd cd"], 300);
        tokenizer.Merges.Should().Equal(("a", "b"), ("Ġ", "ab"), ("Ġ", "c"), ("Ġc", "d"));
        tokenizer.VocabSize.Should().Be(256 + 4 + 1, "training stops when no pair occurs twice");
        tokenizer.EndOfTextId.Should().Be(260);
    }

    [Fact]
    public void Same_corpus_and_size_give_identical_merges_and_ids()
    {
        var corpus = SyntheticCorpus(300);
        var a = BpeTrainer.Train(corpus, 700);
        var b = BpeTrainer.Train(corpus, 700);
        a.Merges.Should().Equal(b.Merges);
        a.Vocabulary.Should().BeEquivalentTo(b.Vocabulary);
    }

    [Fact]
    public void Document_order_does_not_change_the_vocabulary()
    {
        var corpus = SyntheticCorpus(300);
        var shuffled = corpus.OrderBy(_ => Guid.NewGuid()).ToList();
        var a = BpeTrainer.Train(corpus, 700);
        var b = BpeTrainer.Train(shuffled, 700);
        a.Merges.Should().Equal(b.Merges);
        a.Vocabulary.Should().BeEquivalentTo(b.Vocabulary);
    }

    [Fact]
    public void A_trained_vocabulary_has_the_requested_size_with_end_of_text_last()
    {
        var tokenizer = BpeTrainer.Train(SyntheticCorpus(300), 700);
        tokenizer.VocabSize.Should().Be(700);
        tokenizer.EndOfTextId.Should().Be(699);
        tokenizer.Vocabulary.Values.Should().OnlyHaveUniqueItems().And.HaveCount(700);
    }

    [Fact]
    public void The_first_merge_is_the_most_frequent_pair()
    {
        // (e,r) occurs 8 times: "er", five " er", "ber", " ter"; the next best, (Ġ,e), 5 times.
        var tokenizer = BpeTrainer.Train(["er er er er er er xy xy", "ber ter"], 258);
        tokenizer.Merges[0].Should().Be(("e", "r"));
        // (r,e) and (e,r) both occur 4 times in "rer" x4; "e" sorts before "r".
        BpeTrainer.Train(["rer rer rer rer"], 258).Merges[0].Should().Be(("e", "r"));
    }

    [Fact]
    public void A_trained_tokenizer_round_trips_and_compresses_text_it_has_not_seen()
    {
        var tokenizer = BpeTrainer.Train(SyntheticCorpus(400), 1000);
        var unseen = string.Concat(SyntheticCorpus(20, seed: 99));
        var ids = tokenizer.Encode(unseen);
        tokenizer.Decode(ids).Should().Be(unseen);
        ids.Length.Should().BeLessThan(unseen.Length / 3);
    }

    [Fact]
    public void Training_reports_progress_through_counting_merging_and_done()
    {
        var phases = new List<BpeTrainingProgress>();
        var progress = new SynchronousProgress(phases.Add);
        BpeTrainer.Train(SyntheticCorpus(300), new BpeTrainerOptions(900), progress);
        phases.Select(p => p.Phase).Distinct().Should().Equal("counting", "merging", "done");
        phases[^1].Total.Should().Be(900 - 257);
    }

    [Fact]
    public void A_vocabulary_smaller_than_the_byte_alphabet_is_refused()
    {
        FluentActions.Invoking(() => BpeTrainer.Train(["x"], 100)).Should().Throw<ArgumentException>().WithMessage("*100*minimum 257*");
    }

    [Fact]
    public void Merges_that_spell_an_existing_token_reuse_its_id()
    {
        // "abc" can be reached as ab+c and a+bc; whichever comes second must not create a duplicate token.
        var corpus = new[] { string.Join(" ", Enumerable.Repeat("abc", 5)), string.Join(" ", Enumerable.Repeat("xbc", 6)), string.Join(" ", Enumerable.Repeat("abz", 7)) };
        var tokenizer = BpeTrainer.Train(corpus, new BpeTrainerOptions(280, MinPairFrequency: 1));
        tokenizer.Vocabulary.Keys.Should().OnlyHaveUniqueItems();
        tokenizer.Vocabulary.Values.Should().OnlyHaveUniqueItems();
        foreach (var text in corpus) tokenizer.Decode(tokenizer.Encode(text)).Should().Be(text);
    }

    private sealed class SynchronousProgress(Action<BpeTrainingProgress> report) : IProgress<BpeTrainingProgress>
    {
        public void Report(BpeTrainingProgress value) => report(value);
    }
}
