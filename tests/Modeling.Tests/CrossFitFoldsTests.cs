using FluentAssertions;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Gpt;
using Xunit;

namespace Reweighting.Modeling.Tests;

public sealed class CrossFitFoldsTests
{
    private static readonly string[] Texts = [.. Enumerable.Range(0, 200).Select(i => $"document number {i}: some clean text")];

    [Fact]
    public void Each_training_document_has_one_fold_fixed_by_its_text_and_the_folds_are_balanced()
    {
        var folds = CrossFitFolds.For(Texts, 2);

        folds.Count.Should().Be(2);
        folds.Documents.Should().Be(200);
        folds.Sizes().Should().OnlyContain(n => n > 70, "a hash splits 200 documents near evenly");
        foreach (var text in Texts)
            folds.FoldOf(text).Should().Be(CrossFitFolds.Assign(CrossFitFolds.Key(text), 2));
        CrossFitFolds.For(Texts.Reverse(), 2).Sizes().Should().Equal(folds.Sizes(), "the order of the corpus does not move a document");
        folds.FoldOf("a text the proxy never trained on").Should().BeNull("unseen text is scored by the proxy itself");
        CrossFitFolds.Key("abc").Should().HaveLength(32).And.Be(CrossFitFolds.Key("abc")).And.NotBe(CrossFitFolds.Key("abd"));
    }

    [Fact]
    public void The_manifest_round_trips_and_a_missing_fold_model_is_an_error()
    {
        using var dir = new TestSupport.TempDirectory();
        CrossFitFolds.Load(dir.Path).Should().BeNull("a checkpoint without folds has none");

        var folds = CrossFitFolds.For(Texts, 3);
        folds.Save(dir.Path);
        var incomplete = () => CrossFitFolds.Load(dir.Path);
        incomplete.Should().Throw<InvalidDataException>().WithMessage("*names 3 folds but*0*model.safetensors does not exist*");

        using var model = new GptModel(GptConfig.Preset("tiny", vocabSize: 40), seed: 1);
        for (var k = 0; k < 3; k++) Checkpoint.Save(CrossFitFolds.ModelDirectory(dir.Path, k), model);
        var loaded = CrossFitFolds.Load(dir.Path)!;
        loaded.Count.Should().Be(3);
        loaded.Sizes().Should().Equal(folds.Sizes());
        foreach (var text in Texts) loaded.FoldOf(text).Should().Be(folds.FoldOf(text));

        File.WriteAllText(Path.Combine(dir.Path, CrossFitFolds.DirectoryName, CrossFitFolds.ManifestFile),
            "{\"folds\": 1, \"documents\": {}}");
        incomplete.Should().Throw<InvalidDataException>().WithMessage("*not a cross-fitting manifest*at least 2 folds*");
    }
}
