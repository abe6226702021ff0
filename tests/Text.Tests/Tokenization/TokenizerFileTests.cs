using System.Text.Json;
using FluentAssertions;
using Reweighting.Text.Tokenization;
using Xunit;

namespace Reweighting.Text.Tests.Tokenization;

public class TokenizerFileTests
{
    private static readonly (string, string)[] TheMerges = TinyVocabulary.Merges("Ġ t", "h e", "Ġt he", "o r", "Ġ w", "Ġw or", "l d", "Ġwor ld");

    private static void WriteGpt2Files(string directory, string encoderName = "encoder.json", string mergesName = "vocab.bpe")
    {
        var vocab = TinyVocabulary.Vocabulary(TheMerges);
        File.WriteAllText(Path.Combine(directory, encoderName), JsonSerializer.Serialize(vocab));
        File.WriteAllText(Path.Combine(directory, mergesName), "#version: 0.2\n" + string.Join("\n", TheMerges.Select(m => $"{m.Item1} {m.Item2}")) + "\n");
    }

    private static object HfDocument(bool mergesAsPairs, string modelType = "BPE", object? preTokenizer = null)
    {
        var vocab = TinyVocabulary.Vocabulary(TheMerges, withEndOfText: false);
        return new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["added_tokens"] = new[] { new { id = vocab.Count, content = "<|endoftext|>", special = true } },
            ["normalizer"] = null,
            ["pre_tokenizer"] = preTokenizer ?? new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = true },
            ["model"] = new Dictionary<string, object?>
            {
                ["type"] = modelType,
                ["vocab"] = vocab,
                ["merges"] = mergesAsPairs
                    ? TheMerges.Select(m => new[] { m.Item1, m.Item2 }).ToArray<object>()
                    : TheMerges.Select(m => $"{m.Item1} {m.Item2}").ToArray<object>(),
            },
        };
    }

    private static void ExpectTheWorld(BpeTokenizer tokenizer)
    {
        tokenizer.Encode(" the world").Should().Equal(tokenizer.TokenToId("Ġthe")!.Value, tokenizer.TokenToId("Ġworld")!.Value);
        tokenizer.EndOfTextId.Should().Be(256 + TheMerges.Length);
        tokenizer.VocabSize.Should().Be(256 + TheMerges.Length + 1);
        tokenizer.Encode("<|endoftext|>", allowSpecialTokens: true).Should().Equal(tokenizer.EndOfTextId);
    }

    [Fact]
    public void Loads_gpt2_encoder_json_and_vocab_bpe()
    {
        using var dir = new TempDirectory();
        WriteGpt2Files(dir.Path);
        ExpectTheWorld(Gpt2VocabularyFiles.Read(Path.Combine(dir.Path, "encoder.json"), Path.Combine(dir.Path, "vocab.bpe")));
        ExpectTheWorld(BpeTokenizer.Load(dir.Path));
    }

    [Fact]
    public void Loads_hugging_face_vocab_json_and_merges_txt_from_a_directory()
    {
        using var dir = new TempDirectory();
        WriteGpt2Files(dir.Path, "vocab.json", "merges.txt");
        ExpectTheWorld(BpeTokenizer.Load(dir.Path));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Loads_hugging_face_tokenizer_json_with_string_or_pair_merges(bool mergesAsPairs)
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tokenizer.json"), JsonSerializer.Serialize(HfDocument(mergesAsPairs)));
        ExpectTheWorld(HuggingFaceTokenizerJson.Read(Path.Combine(dir.Path, "tokenizer.json")));
        ExpectTheWorld(BpeTokenizer.Load(dir.Path));
    }

    [Fact]
    public void Saving_and_loading_gives_back_an_identical_tokenizer_in_both_layouts()
    {
        using var dir = new TempDirectory();
        var original = TinyVocabulary.English;
        original.Save(dir.Path);
        File.Exists(Path.Combine(dir.Path, "tokenizer.json")).Should().BeTrue();

        var fromHf = HuggingFaceTokenizerJson.Read(Path.Combine(dir.Path, "tokenizer.json"));
        var fromGpt2 = Gpt2VocabularyFiles.Read(Path.Combine(dir.Path, "encoder.json"), Path.Combine(dir.Path, "vocab.bpe"));
        var text = string.Join("\n", EnglishText.Paragraphs) + " ☃ <|endoftext|>";
        foreach (var loaded in new[] { fromHf, fromGpt2, BpeTokenizer.Load(dir.Path) })
        {
            loaded.Vocabulary.Should().BeEquivalentTo(original.Vocabulary);
            loaded.Merges.Should().Equal(original.Merges);
            loaded.SpecialTokens.Should().BeEquivalentTo(original.SpecialTokens);
            loaded.VocabSize.Should().Be(original.VocabSize);
            loaded.Encode(text, allowSpecialTokens: true).Should().Equal(original.Encode(text, allowSpecialTokens: true));
        }
        Directory.GetFiles(dir.Path, "*.tmp-*").Should().BeEmpty("writes go through a temporary file and a rename");
    }

    [Fact]
    public void Saved_tokenizer_json_has_the_hugging_face_layout()
    {
        using var dir = new TempDirectory();
        TinyVocabulary.English.Save(dir.Path);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "tokenizer.json")));
        var model = doc.RootElement.GetProperty("model");
        model.GetProperty("type").GetString().Should().Be("BPE");
        model.GetProperty("vocab").GetProperty("Ġ").GetInt32().Should().Be(220);
        model.GetProperty("merges")[0].GetString().Should().Contain(" ");
        doc.RootElement.GetProperty("pre_tokenizer").GetProperty("type").GetString().Should().Be("ByteLevel");
        var added = doc.RootElement.GetProperty("added_tokens")[0];
        added.GetProperty("content").GetString().Should().Be("<|endoftext|>");
        added.GetProperty("special").GetBoolean().Should().BeTrue();
        File.ReadLines(Path.Combine(dir.Path, "vocab.bpe")).First().Should().StartWith("#version");
    }

    [Fact]
    public void A_truncated_tokenizer_json_fails_with_the_file_and_position()
    {
        using var dir = new TempDirectory();
        var path = dir.File("tokenizer.json");
        var json = JsonSerializer.Serialize(HfDocument(false));
        File.WriteAllText(path, json[..(json.Length / 2)]);
        var act = () => BpeTokenizer.Load(dir.Path);
        act.Should().Throw<TokenizerFormatException>().Where(e => e.Path == path).WithMessage("*tokenizer.json*not valid JSON*line*");
    }

    [Fact]
    public void A_truncated_encoder_json_fails_clearly()
    {
        using var dir = new TempDirectory();
        WriteGpt2Files(dir.Path);
        var encoder = Path.Combine(dir.Path, "encoder.json");
        File.WriteAllText(encoder, File.ReadAllText(encoder)[..100]);
        var act = () => BpeTokenizer.Load(dir.Path);
        act.Should().Throw<TokenizerFormatException>().WithMessage("*encoder.json*not valid JSON*");
    }

    [Fact]
    public void A_malformed_merge_line_fails_with_file_and_line()
    {
        using var dir = new TempDirectory();
        WriteGpt2Files(dir.Path);
        File.AppendAllText(Path.Combine(dir.Path, "vocab.bpe"), "a b c\n");
        var act = () => BpeTokenizer.Load(dir.Path);
        act.Should().Throw<TokenizerFormatException>().WithMessage($"*vocab.bpe:{TheMerges.Length + 2}*left right*");
    }

    [Fact]
    public void A_merges_file_cut_short_of_its_vocabulary_still_loads_but_one_naming_unknown_tokens_fails()
    {
        using var dir = new TempDirectory();
        WriteGpt2Files(dir.Path);
        File.AppendAllText(Path.Combine(dir.Path, "vocab.bpe"), "Ġworld zz\n");
        var act = () => BpeTokenizer.Load(dir.Path);
        act.Should().Throw<TokenizerFormatException>().WithMessage("*merge 9*not in the vocabulary*");
    }

    [Fact]
    public void A_missing_merges_file_fails_naming_it()
    {
        using var dir = new TempDirectory();
        WriteGpt2Files(dir.Path);
        File.Delete(Path.Combine(dir.Path, "vocab.bpe"));
        var act = () => BpeTokenizer.Load(dir.Path);
        act.Should().Throw<TokenizerFormatException>().WithMessage("*vocab.bpe*not found*");
    }

    [Fact]
    public void An_empty_or_missing_directory_fails_clearly()
    {
        using var dir = new TempDirectory();
        FluentActions.Invoking(() => BpeTokenizer.Load(dir.Path)).Should().Throw<TokenizerFormatException>().WithMessage("*no tokenizer.json*");
        FluentActions.Invoking(() => BpeTokenizer.Load(Path.Combine(dir.Path, "nope"))).Should().Throw<TokenizerFormatException>().WithMessage("*not found*");
    }

    [Fact]
    public void Non_bpe_models_and_other_pre_tokenizers_are_refused()
    {
        using var dir = new TempDirectory();
        var path = dir.File("tokenizer.json");
        File.WriteAllText(path, JsonSerializer.Serialize(HfDocument(false, modelType: "WordPiece")));
        FluentActions.Invoking(() => HuggingFaceTokenizerJson.Read(path)).Should().Throw<TokenizerFormatException>().WithMessage("*WordPiece*only \"BPE\"*");

        File.WriteAllText(path, JsonSerializer.Serialize(HfDocument(false, preTokenizer: new { type = "Metaspace" })));
        FluentActions.Invoking(() => HuggingFaceTokenizerJson.Read(path)).Should().Throw<TokenizerFormatException>().WithMessage("*Metaspace*");

        File.WriteAllText(path, JsonSerializer.Serialize(HfDocument(false, preTokenizer: new { type = "ByteLevel", add_prefix_space = true })));
        FluentActions.Invoking(() => HuggingFaceTokenizerJson.Read(path)).Should().Throw<TokenizerFormatException>().WithMessage("*add_prefix_space*");
    }

    [Fact]
    public void A_vocabulary_that_is_not_byte_level_is_refused()
    {
        using var dir = new TempDirectory();
        var vocab = TinyVocabulary.Vocabulary([]);
        vocab["hello world"] = vocab.Count;
        File.WriteAllText(dir.File("encoder.json"), JsonSerializer.Serialize(vocab));
        File.WriteAllText(dir.File("vocab.bpe"), "#version: 0.2\n");
        FluentActions.Invoking(() => BpeTokenizer.Load(dir.Path)).Should().Throw<TokenizerFormatException>().WithMessage("*hello world*byte-level*");
    }
}
