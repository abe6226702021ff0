using Reweighting.Modeling.Gpt;
using Reweighting.Torch;

namespace Reweighting.Modeling.Training;

/// <summary>One micro-batch of an optimiser step: token ids and next-token targets (B, T) on the training device.</summary>
public sealed record MicroBatch(Tensor Ids, Tensor Targets, long Step, int Index);

/// <summary>What an objective returns for one micro-batch: the differentiable scalar to minimise, and the plain mean
/// token loss (detached is fine) that the trainer reports so runs of different objectives compare.</summary>
public readonly record struct ObjectiveValue(Tensor Objective, Tensor MeanTokenLoss);

/// <summary>The step a training objective is told about.</summary>
/// <param name="Step">Optimiser steps taken before this one.</param>
/// <param name="LearningRate">This step's learning rate (a meta-update unrolls a virtual step with it).</param>
/// <param name="MicroBatches">Every micro-batch of the step, on the training device.</param>
public sealed record StepContext(long Step, double LearningRate, IReadOnlyList<MicroBatch> MicroBatches);

/// <summary>What a training step minimises. The trainer owns the optimiser, the schedule and the data; an objective
/// decides how a micro-batch's token losses become the loss (per-sample weights, token masks, distillation) and may
/// do work of its own once per step (a meta-update of its parameters). Its state travels with checkpoints.</summary>
public interface ITrainingObjective
{
    /// <summary>Called once per optimiser step before its micro-batches, with the model's gradients empty; whatever
    /// it computes (extra forward or backward passes) must leave the parameters and their gradients as it found them.</summary>
    void BeginStep(GptModel model, StepContext step) { }

    /// <summary>The objective of one micro-batch (before the trainer divides by the accumulation count).</summary>
    ObjectiveValue Compute(GptModel model, MicroBatch batch);

    /// <summary>A short text for the progress line about the steps since the last call (weights, temperature, phi), or null.</summary>
    string? TakeSummary() => null;

    /// <summary>The objective's state as JSON for a checkpoint (null: stateless).</summary>
    string? SaveState() => null;

    /// <summary>Restores what <see cref="SaveState"/> wrote.</summary>
    void LoadState(string json) { }
}

/// <summary>Ordinary language-model pretraining: the mean loss over every target token.</summary>
public sealed class MeanTokenLossObjective : ITrainingObjective
{
    public ObjectiveValue Compute(GptModel model, MicroBatch batch)
    {
        var mean = model.TokenLosses(batch.Ids, batch.Targets).Mean();
        return new ObjectiveValue(mean, mean);
    }
}

/// <summary>The objective sum_i a_i l_i over the micro-batch's sequences, l_i a sequence's mean token loss and a_i the
/// coefficients a function returns from the detached per-sample losses (uniform 1/B gives ordinary training).</summary>
public sealed class SampleCoefficientObjective(Func<SampleLosses, long, double[]> coefficients) : ITrainingObjective
{
    public ObjectiveValue Compute(GptModel model, MicroBatch batch)
    {
        var tokenLosses = model.TokenLosses(batch.Ids, batch.Targets); // (B, T)
        var perSample = tokenLosses.Mean(1); // every training sequence has T scored tokens
        var losses = perSample.Detach().To(ScalarType.Float64).ToArray<double>();
        var counts = Enumerable.Repeat(batch.Ids.Size(1), losses.Length).ToArray();
        var a = coefficients(new SampleLosses(losses, counts), batch.Step);
        if (a.Length != losses.Length) throw new InvalidOperationException($"{a.Length} coefficients for {losses.Length} samples");
        var weights = Torch.Torch.FromSpan<float>(a.Select(c => (float)c).ToArray(), [a.Length], perSample.Device);
        return new ObjectiveValue((perSample * weights).Sum(), tokenLosses.Mean());
    }
}
