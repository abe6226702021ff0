using Reweighting.Modeling.Gpt;
using Reweighting.Torch;
using Reweighting.Torch.Distributed;
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
/// hook, gradient accumulation, clipping, bfloat16 autocast on CUDA. <see cref="GptTrainer"/> drives it from a
/// <see cref="TokenStream"/>; the streaming trainer from Kafka.</summary>
public sealed class TrainingStep : IDisposable
{
    private readonly GptModel _model;
    private readonly TrainingOptions _options;
    private readonly Device _device;

    public TrainingStep(GptModel model, TrainingOptions options)
    {
        this._model = model;
        this._options = options.Validate();
        _device = Device.Parse(options.Device);
        var (decay, noDecay) = model.DecayGroups();
        Optimizer = new AdamW([
            new ParamGroup(decay, options.LearningRate, options.WeightDecay, options.Beta1, options.Beta2),
            new ParamGroup(noDecay, options.LearningRate, 0.0, options.Beta1, options.Beta2),
        ]);
    }

    /// <summary>The optimiser (its state goes into checkpoints).</summary>
    public AdamW Optimizer { get; }

    /// <summary>The training device.</summary>
    public Device Device => _device;

    /// <summary>The data-parallel group this rank trains in (null: one process). Every rank runs the same steps on its share
    /// of each micro-batch; before clipping, the gradients are averaged over the ranks in buckets
    /// (<see cref="GradientAveraging.AllReduceMean"/>), so each rank's AdamW applies the same update and the optimiser state
    /// stays identical everywhere. The reported loss is averaged too.</summary>
    public ProcessGroup? Group { get; init; }

    /// <summary>Wall time spent averaging gradients and the loss over the group so far (synchronous on Gloo, so it
    /// includes waiting for the slowest rank).</summary>
    public TimeSpan CollectiveTime { get; private set; }

    /// <summary>Tensors (B, T) on the training device for one micro-batch's row-major ids and targets.</summary>
    public MicroBatch MicroBatch(long[] inputs, long[] targets, int rows, long step, int index)
    {
        var length = inputs.Length / rows;
        return new MicroBatch(FromSpan<long>(inputs, [rows, length], _device), FromSpan<long>(targets, [rows, length], _device), step, index);
    }

    /// <summary>Takes optimiser step <paramref name="step"/> (0-based) on the micro-batches built by
    /// <paramref name="build"/> inside the step's dispose scope (so their tensors are freed with it); the objective's
    /// <see cref="ITrainingObjective.BeginStep"/> runs first.</summary>
    public StepResult Run(long step, ITrainingObjective objective, Func<IReadOnlyList<MicroBatch>> build)
    {
        using var pending = Begin(step, objective, build);
        return pending.Complete();
    }

    /// <summary>Queues step <paramref name="step"/> as <see cref="Run"/> takes it, up to and including the optimiser
    /// update, without reading anything back: on a GPU the host returns while the device computes, free to read and
    /// copy the next batch; <see cref="PendingStep.Complete"/> waits and reads the loss and gradient norm.</summary>
    public PendingStep Begin(long step, ITrainingObjective objective, Func<IReadOnlyList<MicroBatch>> build)
    {
        _model.Train();
        // Seeding the model's dropout generator per step makes a resumed run identical.
        _model.DropoutGenerator.ManualSeed(_options.Seed * 1_000_003UL + (ulong)step);
        var lr = LearningRateSchedule.At(step, _options);
        foreach (var g in Optimizer.Groups) g.LearningRate = lr;
        Optimizer.ZeroGrad();
        // The step's loss stays on the device until the optimiser step is queued: reading it per micro-batch would make
        // the host wait for each backward pass before it could queue the next work.
        Tensor? loss = null, norm = null;
        try
        {
            using (var stepScope = DisposeScope.Open())
            {
                var microBatches = build();
                var accumulation = microBatches.Count;
                objective.BeginStep(_model, new StepContext(step, lr, microBatches));
                foreach (var batch in microBatches)
                {
                    using var scope = DisposeScope.Open();
                    ObjectiveValue value;
                    using (_device.Type == DeviceType.Cuda ? Autocast(DeviceType.Cuda) : default(AutocastScope?))
                        value = objective.Compute(_model, batch);
                    (value.Objective / accumulation).Backward();
                    var part = value.MeanTokenLoss.Detach().To(ScalarType.Float32) / accumulation;
                    var sum = loss is null ? part : loss + part;
                    loss?.Dispose();
                    loss = sum.DetachFromScope();
                }
            }
            if (Group is { WorldSize: > 1 } group)
                using (DisposeScope.Open())
                {
                    var started = System.Diagnostics.Stopwatch.GetTimestamp();
                    var parameters = _model.Parameters().ToList();
                    group.AllReduceMean(parameters.Select(p => p.Grad ?? throw new InvalidOperationException(
                        "a parameter has no gradient: every rank must train every parameter")).ToList());
                    if (loss is not null) group.AllReduceMean([loss]);
                    CollectiveTime += System.Diagnostics.Stopwatch.GetElapsedTime(started);
                }
            norm = GradientClipping.ClipGradNormDeferred(_model.Parameters().ToList(), _options.ClipNorm).DetachFromScope();
            Optimizer.Step();
            return new PendingStep(step + 1, lr, loss, norm);
        }
        catch
        {
            loss?.Dispose();
            norm?.Dispose();
            throw;
        }
    }

    public void Dispose() => Optimizer.Dispose();
}

/// <summary>An optimiser step queued by <see cref="TrainingStep.Begin"/>: its loss and gradient norm are still on the
/// device. <see cref="Complete"/> reads them (waiting for the device); disposing frees them.</summary>
public sealed class PendingStep : IDisposable
{
    private readonly long _step;
    private readonly double _learningRate;
    private Tensor? _loss;
    private Tensor? _norm;
    private StepResult? _result;

    internal PendingStep(long step, double learningRate, Tensor? loss, Tensor norm)
    {
        this._step = step;
        this._learningRate = learningRate;
        this._loss = loss;
        this._norm = norm;
    }

    /// <summary>Waits for the step and reports it (the same result on every call).</summary>
    public StepResult Complete()
    {
        if (_result is not null) return _result;
        ObjectDisposedException.ThrowIf(_norm is null, this);
        _result = new StepResult(_step, _loss?.ToDouble() ?? 0, _learningRate, _norm.ToDouble());
        Dispose();
        return _result;
    }

    public void Dispose()
    {
        _loss?.Dispose();
        _norm?.Dispose();
        _loss = _norm = null;
    }
}
