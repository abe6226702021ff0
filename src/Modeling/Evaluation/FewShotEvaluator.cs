using Reweighting.Modeling.Gpt;
using Reweighting.Torch;
using static Reweighting.Torch.Torch;

namespace Reweighting.Modeling.Evaluation;

/// <summary>Scores multiple-choice tasks the way the LM Evaluation Harness does: k solved examples drawn with a
/// seed (never the item itself) precede the question, separated by blank lines; each choice is scored as the
/// summed log-probability of its tokens given everything before it, truncated on the left to the context.</summary>
public sealed class FewShotEvaluator(GptModel model, Func<string, IReadOnlyList<long>> encode, Device device)
{
    /// <summary>Evaluates <paramref name="items"/> with <paramref name="shots"/> examples each.</summary>
    public TaskResult Evaluate(string task, IReadOnlyList<MultipleChoiceItem> items, int shots, int seed = 1234)
    {
        if (shots < 0) throw new ArgumentOutOfRangeException(nameof(shots), shots, "must be >= 0");
        if (shots >= items.Count) throw new ArgumentException($"{shots}-shot needs more than {shots} items; {task} has {items.Count}");
        var wasTraining = model.IsTraining;
        model.Eval();
        using var noGrad = NoGrad();
        var rng = new Random(seed);
        int correct = 0, correctNorm = 0;
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var examples = Enumerable.Range(0, items.Count).Where(j => j != i).OrderBy(_ => rng.Next()).Take(shots)
                .Select(j => items[j].Context + items[j].Choices[items[j].Gold]);
            var context = string.Concat(examples.Select(e => e + "\n\n")) + item.Context;
            var scores = item.Choices.Select(choice => LogLikelihood(context, choice)).ToArray();
            var best = ArgMax(scores);
            var bestNorm = ArgMax(scores.Select((s, c) => s / Math.Max(1, item.Choices[c].Length)).ToArray());
            if (best == item.Gold) correct++;
            if (bestNorm == item.Gold) correctNorm++;
        }
        model.Train(wasTraining);
        return new TaskResult(task, items.Count, shots, (double)correct / items.Count, (double)correctNorm / items.Count);
    }

    /// <summary>log P(continuation | context), summed over the continuation's tokens (nats).</summary>
    public double LogLikelihood(string context, string continuation)
    {
        // The harness moves trailing spaces of the context onto the continuation so BPE sees " word".
        var trimmed = context.TrimEnd(' ');
        continuation = context[trimmed.Length..] + continuation;
        var ctx = encode(trimmed);
        var cont = encode(continuation);
        if (cont.Count == 0) throw new ArgumentException("a choice must encode to at least one token");
        var all = ctx.Concat(cont).ToArray();
        var window = Math.Min(all.Length - 1, model.Config.ContextLength);
        var inputs = all[(all.Length - 1 - window)..^1];
        var targets = all[(all.Length - window)..].Select((t, k) => k >= window - cont.Count ? t : GptModel.IgnoreIndex).ToArray();
        using var scope = DisposeScope.Open();
        var losses = model.TokenLosses(FromSpan<long>(inputs, [1, window], device), FromSpan<long>(targets, [1, window], device));
        return -losses.To(ScalarType.Float64).Sum().ToDouble();
    }

    private static int ArgMax(double[] xs)
    {
        var best = 0;
        for (var i = 1; i < xs.Length; i++) if (xs[i] > xs[best]) best = i;
        return best;
    }
}
