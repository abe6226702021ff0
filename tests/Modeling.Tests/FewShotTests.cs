using FluentAssertions;
using Reweighting.Modeling.Evaluation;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Torch;
using Xunit;
using static Reweighting.Torch.Torch;

namespace Reweighting.Modeling.Tests;

public sealed class FewShotTests
{
    // Characters '0'..'9' as tokens 0..9; space and newline share token 10.
    private static IReadOnlyList<long> Encode(string s) => s.Select(c => c is ' ' or '\n' ? 10L : c - '0').ToArray();

    private static GptModel CountingModel()
    {
        // Documents count upwards mod 10 ("3 4 5 6 ..."): the next digit is always the answer.
        var rng = new Random(3);
        var docs = Enumerable.Range(0, 200).Select(_ =>
        {
            var start = rng.Next(10);
            return Encode(string.Join(' ', Enumerable.Range(0, 12).Select(i => (start + i) % 10)));
        });
        var model = new GptModel(new GptConfig(11, 32, 2, 2, 32), seed: 8);
        new GptTrainer(model, new TokenStream(docs, 10, 32, 1), new TrainingOptions
        {
            Steps = 300, BatchSize = 16, SequenceLength = 32, LearningRate = 5e-3, MinLearningRate = 5e-4, WarmupSteps = 10, WeightDecay = 0,
        }).Run();
        return model;
    }

    [Fact]
    public void Few_shot_scoring_finds_the_known_answer_of_a_synthetic_task()
    {
        using var model = CountingModel();
        var items = Enumerable.Range(0, 12).Select(i =>
        {
            var start = i % 10;
            var context = string.Join(' ', Enumerable.Range(0, 6).Select(k => (start + k) % 10)) + " ";
            var right = ((start + 6) % 10).ToString();
            var wrong = ((start + 9) % 10).ToString();
            return i % 2 == 0 ? new MultipleChoiceItem(context, [right, wrong], 0) : new MultipleChoiceItem(context, [wrong, right], 1);
        }).ToList();
        var evaluator = new FewShotEvaluator(model, Encode, Device.Cpu);
        var zeroShot = evaluator.Evaluate("counting", items, shots: 0);
        zeroShot.Accuracy.Should().BeGreaterThanOrEqualTo(0.9);
        zeroShot.NormalizedAccuracy.Should().Be(zeroShot.Accuracy, "both choices are one character long");
        evaluator.Evaluate("counting", items, shots: 2).Accuracy.Should().BeGreaterThanOrEqualTo(0.9);

        // With every gold index pointing at the wrong answer the same scores give the complementary accuracy.
        var flipped = items.Select(x => x with { Gold = 1 - x.Gold }).ToList();
        evaluator.Evaluate("counting", flipped, shots: 0).Accuracy.Should().BeApproximately(1 - zeroShot.Accuracy, 1e-12);
    }

    [Fact]
    public void Log_likelihood_sums_the_continuation_tokens_given_the_context()
    {
        using var scope = DisposeScope.Open();
        using var model = new GptModel(new GptConfig(11, 16, 1, 2, 8), seed: 2);
        model.Eval();
        var evaluator = new FewShotEvaluator(model, Encode, Device.Cpu);
        var ll = evaluator.LogLikelihood("1 2 ", "34");
        // Manual: tokens "1 2 34" → the continuation " 34" (trailing space moved) is predicted by positions 2..4.
        var all = new long[] { 1, 10, 2, 10, 3, 4 };
        var logp = Functional.LogSoftmax(model.Forward(FromArray(all[..^1], 1, 5)), 2).To(ScalarType.Float64);
        var expected = logp.Select(1, 2).Select(1, 10).ToDouble() + logp.Select(1, 3).Select(1, 3).ToDouble() + logp.Select(1, 4).Select(1, 4).ToDouble();
        ll.Should().BeApproximately(expected, 1e-5);
    }

    [Fact]
    public void Task_files_with_bad_lines_fail_with_file_and_line()
    {
        using var dir = new TestSupport.TempDirectory();
        var path = Path.Combine(dir.Path, "t.jsonl");
        File.WriteAllText(path, "{\"context\":\"a\",\"choices\":[\"b\",\"c\"],\"gold\":1}\n\n{\"context\":\"a\",\"choices\":[\"b\"],\"gold\":0}\n");
        Assert.Throws<InvalidDataException>(() => MultipleChoiceItem.ReadJsonl(path)).Message.Should().Contain("t.jsonl:3");
        File.WriteAllText(path, "{\"context\":\"a\",\"choices\":[\"b\",\"c\"],\"gold\":5}\n");
        Assert.Throws<InvalidDataException>(() => MultipleChoiceItem.ReadJsonl(path)).Message.Should().Contain("gold");
        File.WriteAllText(path, "{\"context\":\"a\",\"choices\":[\"b\",\"c\"],\"gold\":1}\n");
        MultipleChoiceItem.ReadJsonl(path).Single().Choices.Should().Equal("b", "c");
    }
}
