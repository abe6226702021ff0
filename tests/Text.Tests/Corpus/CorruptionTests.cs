using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using FluentAssertions;
using Reweighting.Text.Corpus;
using Reweighting.Text.Corpus.Corruption;
using Xunit;

namespace Reweighting.Text.Tests.Corpus;

public class CorruptionTests
{
    private sealed record Labelled(string Id, string? Domain, string Text, string Label, string? NoiseType);

    private static string WriteCleanCorpus(TempDirectory dir, int documents, string name = "clean.jsonl")
    {
        var lines = Enumerable.Range(0, documents).Select(i => JsonSerializer.Serialize(new
        {
            id = $"doc-{i}",
            domain = i % 3 == 0 ? "news" : "web",
            text = SyntheticEnglish.Generate(300 + i % 7 * 50, seed: i + 1).Trim(),
        }));
        return dir.File(name, string.Join("\n", lines) + "\n");
    }

    private static List<Labelled> ReadLabelled(string path)
    {
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz") ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var records = new List<Labelled>();
        while (reader.ReadLine() is { } line)
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            records.Add(new Labelled(root.GetProperty("id").GetString()!, root.GetProperty("domain").GetString(),
                root.GetProperty("text").GetString()!, root.GetProperty("label").GetString()!, root.GetProperty("noise_type").GetString()));
        }
        return records;
    }

    private static CorruptionSummary Corrupt(string input, string output, double fraction, int seed, params string[] families) =>
        new CorpusCorruptor(new CorruptionOptions(fraction, seed, families)).Run(input, output);

    [Fact]
    public void The_same_input_and_seed_give_byte_identical_output_and_another_seed_differs()
    {
        using var dir = new TempDirectory();
        var input = WriteCleanCorpus(dir, 60);
        var first = Path.Combine(dir.Path, "a.jsonl");
        var second = Path.Combine(dir.Path, "b.jsonl");
        var other = Path.Combine(dir.Path, "c.jsonl");
        Corrupt(input, first, 0.3, seed: 7);
        Corrupt(input, second, 0.3, seed: 7);
        Corrupt(input, other, 0.3, seed: 8);

        File.ReadAllBytes(second).Should().Equal(File.ReadAllBytes(first));
        File.ReadAllBytes(other).Should().NotEqual(File.ReadAllBytes(first));
    }

    [Theory]
    [InlineData(101, 0.25, 25)]
    [InlineData(5, 0.5, 3)]
    [InlineData(40, 0.2, 8)]
    [InlineData(10, 0.0, 0)]
    [InlineData(10, 1.0, 10)]
    public void Exactly_round_fraction_times_n_records_are_labelled_noisy(int documents, double fraction, int expected)
    {
        using var dir = new TempDirectory();
        var input = WriteCleanCorpus(dir, documents);
        var output = Path.Combine(dir.Path, "noisy.jsonl");

        var summary = Corrupt(input, output, fraction, seed: 3);
        var records = ReadLabelled(output);

        records.Should().HaveCount(documents);
        records.Count(r => r.Label == "noisy").Should().Be(expected);
        records.Should().OnlyContain(r => r.Label == "clean" || r.Label == "noisy");
        records.All(r => r.Label == "clean" ? r.NoiseType is null : NoiseFamilies.All.Any(f => f.Name == r.NoiseType))
            .Should().BeTrue("clean records have no noise_type and noisy ones name a family");
        summary.Corrupted.Should().Be(expected);
        summary.Documents.Should().Be(documents);
    }

    [Fact]
    public void Every_family_is_used_and_their_counts_differ_by_at_most_one()
    {
        using var dir = new TempDirectory();
        var input = WriteCleanCorpus(dir, 203);
        var output = Path.Combine(dir.Path, "noisy.jsonl");

        var summary = Corrupt(input, output, 0.4, seed: 11);
        var counts = ReadLabelled(output).Where(r => r.Label == "noisy").GroupBy(r => r.NoiseType!).ToDictionary(g => g.Key, g => (long)g.Count());

        counts.Keys.Should().BeEquivalentTo(NoiseFamilies.All.Select(f => f.Name));
        (counts.Values.Max() - counts.Values.Min()).Should().BeLessThanOrEqualTo(1);
        summary.PerFamily.Should().BeEquivalentTo(counts);
    }

    [Fact]
    public void Clean_records_are_unchanged_and_every_record_keeps_its_id_and_domain_in_order()
    {
        using var dir = new TempDirectory();
        var input = WriteCleanCorpus(dir, 50);
        var output = Path.Combine(dir.Path, "noisy.jsonl.gz");

        Corrupt(input, output, 0.5, seed: 5);
        var clean = new CorpusReader().Read(input).ToList();
        var labelled = ReadLabelled(output);

        labelled.Select(r => (r.Id, r.Domain)).Should().Equal(clean.Select(r => (r.Id, r.Domain)));
        for (var i = 0; i < clean.Count; i++)
        {
            if (labelled[i].Label == "clean") labelled[i].Text.Should().Be(clean[i].Text);
            else labelled[i].Text.Should().NotBe(clean[i].Text, $"record {labelled[i].Id} is labelled {labelled[i].NoiseType}");
        }
    }

    [Fact]
    public void Gzipped_output_reads_back_through_the_corpus_reader()
    {
        using var dir = new TempDirectory();
        var input = WriteCleanCorpus(dir, 30);
        var output = Path.Combine(dir.Path, "noisy.jsonl.gz");

        Corrupt(input, output, 0.2, seed: 1);
        var reader = new CorpusReader();
        var records = reader.Read(output).ToList();

        reader.ProblemCount.Should().Be(0);
        records.Select(r => r.Id).Should().Equal(Enumerable.Range(0, 30).Select(i => $"doc-{i}"));
    }

    [Fact]
    public void Progress_ends_with_each_pass_complete()
    {
        using var dir = new TempDirectory();
        var input = WriteCleanCorpus(dir, 25);
        var reports = new List<CorruptionProgress>();
        new CorpusCorruptor(new CorruptionOptions(0.2, 1)).Run(input, Path.Combine(dir.Path, "out.jsonl"), progress: new Recorder(reports));

        reports.Should().Equal(
            new CorruptionProgress(CorruptionPhase.Counting, 25, null),
            new CorruptionProgress(CorruptionPhase.Writing, 25, 25));
    }

    private sealed class Recorder(List<CorruptionProgress> reports) : IProgress<CorruptionProgress>
    {
        public void Report(CorruptionProgress value) => reports.Add(value);
    }

    [Theory]
    [InlineData(-0.01)]
    [InlineData(1.01)]
    [InlineData(double.NaN)]
    public void A_fraction_outside_zero_to_one_is_rejected(double fraction)
    {
        var create = () => new CorpusCorruptor(new CorruptionOptions(fraction, Seed: 1));
        create.Should().Throw<ArgumentException>().WithMessage("*fraction*");
    }

    [Fact]
    public void Unknown_family_names_are_rejected_and_a_restricted_list_is_honoured()
    {
        var unknown = () => new CorpusCorruptor(new CorruptionOptions(0.2, 1, ["word-salad", "gibberish"]));
        unknown.Should().Throw<ArgumentException>().WithMessage("*gibberish*");

        using var dir = new TempDirectory();
        var input = WriteCleanCorpus(dir, 40);
        var output = Path.Combine(dir.Path, "noisy.jsonl");
        Corrupt(input, output, 0.5, 2, "boilerplate", "mojibake");

        ReadLabelled(output).Where(r => r.Label == "noisy").Select(r => r.NoiseType).Distinct()
            .Should().BeEquivalentTo("boilerplate", "mojibake");
    }

    [Fact]
    public void An_input_without_documents_is_an_error()
    {
        using var dir = new TempDirectory();
        var input = dir.File("empty.jsonl", "\n{\"text\": \"\"}\n");
        var run = () => Corrupt(input, Path.Combine(dir.Path, "out.jsonl"), 0.2, 1);
        run.Should().Throw<InvalidDataException>().WithMessage("*no documents*");
    }

    // Each family, generated directly over several seeds, must look like what it claims to be.

    private static readonly string Original = SyntheticEnglish.Generate(600, seed: 42).Trim();
    private static readonly List<string> Vocabulary = NoiseFamily.Words(SyntheticEnglish.Generate(5000, seed: 9)).Distinct().ToList();

    private static IEnumerable<string> Samples(string family) =>
        Enumerable.Range(0, 20).Select(seed =>
            NoiseFamilies.Select([family])[0].Generate(new NoiseInput(Original, Vocabulary, 400), new Random(seed)));

    [Fact]
    public void Character_garbage_is_mostly_symbols_and_foreign_characters_not_words()
    {
        foreach (var text in Samples("char-garbage"))
        {
            var visible = text.Where(c => !char.IsWhiteSpace(c)).ToList();
            visible.Count(c => c is >= 'a' and <= 'z').Should().BeLessThan(visible.Count / 2);
            NoiseFamily.Words(text).Count(Vocabulary.Contains).Should().BeLessThan(3);
        }
    }

    [Fact]
    public void Word_salad_uses_only_words_from_the_corpus_vocabulary()
    {
        foreach (var text in Samples("word-salad"))
        {
            var words = NoiseFamily.Words(text).ToList();
            words.Should().HaveCountGreaterThan(20).And.OnlyContain(w => Vocabulary.Contains(w));
            text.Should().NotContain(Original[..40]);
        }
    }

    [Fact]
    public void Shuffled_text_has_exactly_the_original_words_in_another_order()
    {
        var original = Original.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        foreach (var text in Samples("shuffled-text"))
        {
            var words = text.Split(' ');
            words.Should().BeEquivalentTo(original);
            words.Should().NotEqual(original);
        }
    }

    [Theory]
    [InlineData("left right")]
    [InlineData("same same same")]
    [InlineData("alone")]
    public void Shuffling_a_short_document_never_gives_back_the_original(string original)
    {
        var family = new ShuffledText();
        for (var seed = 0; seed < 20; seed++)
            family.Generate(new NoiseInput(original, Vocabulary, 256), new Random(seed)).Should().NotBe(original);
    }

    [Fact]
    public void Encoded_blobs_decode_as_base64_or_hex_and_both_forms_occur()
    {
        var forms = new HashSet<string>();
        foreach (var text in Samples("encoded-blob"))
        {
            var joined = text.Replace("\n", "");
            text.Split('\n').Should().OnlyContain(line => line.Length <= 76);
            if (Regex.IsMatch(joined, "^[0-9a-f]+$"))
            {
                Convert.FromHexString(joined).Should().NotBeEmpty();
                forms.Add("hex");
            }
            else
            {
                joined.Should().MatchRegex("^[A-Za-z0-9+/]+={0,2}$");
                Convert.FromBase64String(joined).Should().NotBeEmpty();
                forms.Add("base64");
            }
        }
        forms.Should().BeEquivalentTo("hex", "base64");
    }

    [Fact]
    public void Boilerplate_repeats_one_line_at_least_five_times()
    {
        foreach (var text in Samples("boilerplate"))
        {
            var lines = text.Split('\n');
            lines.Length.Should().BeGreaterThanOrEqualTo(5);
            lines.Distinct().Should().ContainSingle();
        }
    }

    [Fact]
    public void Mojibake_shows_utf8_misread_as_windows_1252_and_keeps_the_plain_letters()
    {
        foreach (var text in Samples("mojibake"))
        {
            text.Should().MatchRegex("Ã.|â€");
            // Letters the accenting never touches survive in place, so the text stays mostly readable.
            new string(text.Where(c => c is 'b' or 'd' or 'f' or 'g' or 'h' or 'k' or 'l' or 'm').ToArray())
                .Should().Be(new string(Original.Where(c => c is 'b' or 'd' or 'f' or 'g' or 'h' or 'k' or 'l' or 'm').ToArray()));
        }
        Mojibake.MisreadAsCp1252(Encoding.UTF8.GetBytes("café it’s")).Should().Be("cafÃ© itâ€™s");
    }

    [Fact]
    public void Markup_junk_is_balanced_tags_with_little_text()
    {
        foreach (var text in Samples("markup-junk"))
        {
            text.Should().StartWith("<").And.EndWith(">");
            foreach (var tag in new[] { "div", "span", "a", "li", "ul", "td", "tr", "p", "section", "button" })
                Regex.Matches(text, $"<{tag} ").Count.Should().Be(Regex.Matches(text, $"</{tag}>").Count, $"<{tag}> must be closed");
            var visible = Regex.Replace(Regex.Replace(text, @"<(script|style)[^>]*>.*?</\1>|<!--.*?-->", ""), "<[^>]*>", "");
            visible.Length.Should().BeLessThan(text.Length / 3);
        }
    }

    [Fact]
    public void Log_dumps_are_timestamped_log_lines_or_pipe_tables()
    {
        var forms = new HashSet<string>();
        foreach (var text in Samples("log-dump"))
        {
            var lines = text.Split('\n');
            lines.Length.Should().BeGreaterThan(3);
            if (lines[0].StartsWith('|'))
            {
                lines.Should().OnlyContain(l => l.StartsWith('|') && l.EndsWith('|'));
                forms.Add("table");
            }
            else
            {
                lines.Should().OnlyContain(l => Regex.IsMatch(l, @"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO|DEBUG|WARN|ERROR) \[[a-z.]+-\d+\] "));
                forms.Add("log");
            }
        }
        forms.Should().BeEquivalentTo("table", "log");
    }

    [Fact]
    public void Document_seeds_differ_between_neighbouring_positions_and_seeds()
    {
        var seeds = new HashSet<int>();
        for (var seed = 0; seed < 10; seed++)
            for (var position = 0; position < 1000; position++)
                seeds.Add(CorpusCorruptor.DocumentSeed(seed, position));
        seeds.Count.Should().Be(10_000);
    }

    // The held-out web-junk families: never in the default set, reachable by name, each looking like what it claims.

    [Fact]
    public void Held_out_families_stay_out_of_the_default_set_but_can_be_chosen_by_name()
    {
        NoiseFamilies.HeldOut.Select(f => f.Name).Should().BeEquivalentTo("keyword-stuffing", "link-farm", "spam-ad", "json-dump");
        NoiseFamilies.All.Select(f => f.Name).Should().NotIntersectWith(NoiseFamilies.HeldOut.Select(f => f.Name));
        NoiseFamilies.Select(null).Should().Equal(NoiseFamilies.All);

        using var dir = new TempDirectory();
        var input = WriteCleanCorpus(dir, 40);
        var output = Path.Combine(dir.Path, "noisy.jsonl");
        Corrupt(input, output, 0.5, 3, "link-farm", "json-dump");
        ReadLabelled(output).Where(r => r.Label == "noisy").Select(r => r.NoiseType).Distinct()
            .Should().BeEquivalentTo("link-farm", "json-dump");
    }

    [Theory]
    [InlineData("keyword-stuffing")]
    [InlineData("link-farm")]
    [InlineData("spam-ad")]
    [InlineData("json-dump")]
    public void Held_out_families_are_deterministic_and_about_the_target_length(string family)
    {
        var generator = NoiseFamilies.Select([family])[0];
        var first = generator.Generate(new NoiseInput(Original, Vocabulary, 400), new Random(7));
        generator.Generate(new NoiseInput(Original, Vocabulary, 400), new Random(7)).Should().Be(first);
        generator.Generate(new NoiseInput(Original, Vocabulary, 400), new Random(8)).Should().NotBe(first);
        foreach (var text in Samples(family)) text.Length.Should().BeInRange(400, 1200);
    }

    [Fact]
    public void Keyword_stuffing_repeats_a_few_corpus_words_in_query_phrases()
    {
        var words = Vocabulary.Select(w => w.ToLowerInvariant()).ToHashSet();
        foreach (var text in Samples("keyword-stuffing"))
        {
            var phrases = text.Split([", ", " | "], StringSplitOptions.None);
            phrases.Length.Should().BeGreaterThan(10);
            var fromCorpus = NoiseFamily.Words(text).Select(w => w.ToLowerInvariant()).Where(words.Contains).ToList();
            fromCorpus.Distinct().Count().Should().BeLessThanOrEqualTo(6 + 12, "a handful of keywords plus template words");
            fromCorpus.Count.Should().BeGreaterThan(2 * fromCorpus.Distinct().Count(), "the keywords repeat");
        }
    }

    [Fact]
    public void Link_farm_lines_are_anchor_text_and_an_absolute_url()
    {
        foreach (var text in Samples("link-farm"))
            foreach (var line in text.Split('\n'))
            {
                var url = line[(line.IndexOf(": ", StringComparison.Ordinal) + 2)..];
                Uri.TryCreate(url, UriKind.Absolute, out var uri).Should().BeTrue(url);
                uri!.Scheme.Should().BeOneOf("http", "https");
                uri.AbsolutePath.Should().StartWith("/");
            }
    }

    [Fact]
    public void Spam_adverts_shout_with_exclamation_marks_and_numbers()
    {
        foreach (var text in Samples("spam-ad"))
        {
            text.Should().Contain("!!").And.MatchRegex("[0-9]");
            text.Count(char.IsUpper).Should().BeGreaterThan(text.Length / 20, "capitals run at several times the rate of prose");
        }
    }

    [Fact]
    public void Json_dumps_parse_as_an_array_of_objects_with_the_same_keys()
    {
        foreach (var text in Samples("json-dump"))
        {
            using var json = JsonDocument.Parse(text);
            json.RootElement.ValueKind.Should().Be(JsonValueKind.Array);
            var keys = json.RootElement.EnumerateArray().Select(o => string.Join(",", o.EnumerateObject().Select(p => p.Name))).Distinct();
            keys.Should().ContainSingle();
        }
    }
}
