using Reweighting.Torch;

namespace Reweighting.Modeling.Training;

/// <summary>Settings of a pretraining run; saved with every checkpoint.</summary>
public sealed record TrainingOptions
{
    public int Steps { get; init; } = 1000;
    /// <summary>Sequences per micro-batch.</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>Tokens per training sequence (≤ the model's context).</summary>
    public int SequenceLength { get; init; } = 64;
    /// <summary>Micro-batches whose gradients are summed before one optimiser step.</summary>
    public int GradientAccumulation { get; init; } = 1;
    public double LearningRate { get; init; } = 6e-4;
    /// <summary>The floor the cosine decay ends at.</summary>
    public double MinLearningRate { get; init; } = 6e-5;
    public int WarmupSteps { get; init; } = 100;
    public double WeightDecay { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double ClipNorm { get; init; } = 1.0;
    public ulong Seed { get; init; } = 1337;
    /// <summary>Held-out evaluation every this many steps (0: only at the end).</summary>
    public int EvalEvery { get; init; } = 0;
    /// <summary>Checkpoint every this many steps (0: only at the end and on shutdown).</summary>
    public int CheckpointEvery { get; init; } = 0;
    public string Device { get; init; } = "cpu";

    public TrainingOptions Validate()
    {
        if (Steps < 1) throw new ArgumentException("steps must be positive");
        if (BatchSize < 1 || SequenceLength < 1 || GradientAccumulation < 1) throw new ArgumentException("batch size, sequence length and accumulation must be positive");
        if (LearningRate <= 0 || MinLearningRate < 0 || MinLearningRate > LearningRate) throw new ArgumentException("need 0 <= min learning rate <= learning rate, learning rate > 0");
        if (WarmupSteps < 0 || ClipNorm <= 0) throw new ArgumentException("warm-up must be >= 0 and the clipping norm > 0");
        Torch.Device.Parse(Device);
        return this;
    }
}

/// <summary>Linear warm-up to the peak learning rate, then cosine decay to the floor at the last step.</summary>
public static class LearningRateSchedule
{
    public static double At(long step, TrainingOptions o)
    {
        if (step < o.WarmupSteps) return o.LearningRate * (step + 1) / o.WarmupSteps;
        var decaySteps = Math.Max(1, o.Steps - o.WarmupSteps);
        var progress = Math.Min(1.0, (double)(step - o.WarmupSteps) / decaySteps);
        return o.MinLearningRate + 0.5 * (1 + Math.Cos(Math.PI * progress)) * (o.LearningRate - o.MinLearningRate);
    }
}
