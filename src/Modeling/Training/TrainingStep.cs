using Reweighting.Modeling.Gpt;
using Reweighting.Torch;
using Reweighting.Torch.NN;
using Reweighting.Torch.Optim;
using static Reweighting.Torch.Torch;

namespace Reweighting.Modeling.Training;

/// <summary>What one optimiser step did.</summary>
/// <param name="Step">Steps taken after it.</param>
/// <param name="Loss">Mean token loss over its micro-batches (before the update).</param>
/// <param name="LearningRate">The learning rate it used.</param>
/// <param name="GradNorm">Gradient norm before clipping.</param>
public sealed record StepResult(long Step, double Loss, double LearningRate, double GradNorm);

/// <summary>One optimiser step on micro-batches handed to it, with a pluggable objective: AdamW in two decay groups,
/// warm-up and cosine schedule, dropout seeded by (seed, step) so a resumed run is identical, the objective's per-step
/// hook, gradient accumulation, clipping, bfloat16 autocast on CUDA. <see cref="Trainer"/> drives it from a
/// <see cref="TokenStream"/>; the streaming trainer from Kafka.</summary>
public sealed class TrainingStep : IDisposable
{
    private readonly GptModel model;
    private readonly TrainingOptions options;
    private readonly Device device;

    public TrainingStep(GptModel model, TrainingOptions options)
    {
        this.model = model;
        this.options = options.Validate();
        device = Device.Parse(options.Device);
        var (decay, noDecay) = model.DecayGroups();
        Optimizer = new AdamW([
            new ParamGroup(decay, options.LearningRate, options.WeightDecay, options.Beta1, options.Beta2),
            new ParamGroup(noDecay, options.LearningRate, 0.0, options.Beta1, options.Beta2),
        ]);
    }

    /// <summary>The optimiser (its state goes into checkpoints).</summary>
    public AdamW Optimizer { get; }

    /// <summary>The training device.</summary>
    public Device Device => device;

    /// <summary>Tensors (B, T) on the training device for one micro-batch's row-major ids and targets.</summary>
    public MicroBatch MicroBatch(long[] inputs, long[] targets, int rows, long step, int index)
    {
        var length = inputs.Length / rows;
        return new MicroBatch(FromSpan<long>(inputs, [rows, length], device), FromSpan<long>(targets, [rows, length], device), step, index);
    }

    /// <summary>Takes optimiser step <paramref name="step"/> (0-based) on the micro-batches built by
    /// <paramref name="build"/> inside the step's dispose scope (so their tensors are freed with it); the objective's
    /// <see cref="ITrainingObjective.BeginStep"/> runs first.</summary>
    public StepResult Run(long step, ITrainingObjective objective, Func<IReadOnlyList<MicroBatch>> build)
    {
        model.Train();
        // Seeding the model's dropout generator per step makes a resumed run identical.
        model.DropoutGenerator.ManualSeed(options.Seed * 1_000_003UL + (ulong)step);
        var lr = LearningRateSchedule.At(step, options);
        foreach (var g in Optimizer.Groups) g.LearningRate = lr;
        Optimizer.ZeroGrad();
        // The step's loss stays on the device until the optimiser step is queued: reading it per micro-batch would make
        // the host wait for each backward pass before it could queue the next work.
        Tensor? loss = null;
        try
        {
            using (var stepScope = DisposeScope.Open())
            {
                var microBatches = build();
                var accumulation = microBatches.Count;
                objective.BeginStep(model, new StepContext(step, lr, microBatches));
                foreach (var batch in microBatches)
                {
                    using var scope = DisposeScope.Open();
                    ObjectiveValue value;
                    using (device.Type == DeviceType.Cuda ? Autocast(DeviceType.Cuda) : default(AutocastScope?))
                        value = objective.Compute(model, batch);
                    (value.Objective / accumulation).Backward();
                    var part = value.MeanTokenLoss.Detach().To(ScalarType.Float32) / accumulation;
                    var sum = loss is null ? part : loss + part;
                    loss?.Dispose();
                    loss = sum.DetachFromScope();
                }
            }
            var norm = GradientClipping.ClipGradNorm(model.Parameters().ToList(), options.ClipNorm);
            Optimizer.Step();
            return new StepResult(step + 1, loss?.ToDouble() ?? 0, lr, norm);
        }
        finally
        {
            loss?.Dispose();
        }
    }

    public void Dispose() => Optimizer.Dispose();
}
