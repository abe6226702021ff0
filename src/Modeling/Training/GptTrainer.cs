using System.Diagnostics;
using System.Text.Json;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Evaluation;
using Reweighting.Modeling.Gpt;
using Reweighting.Torch;
using Reweighting.Torch.Distributed;
using Reweighting.Torch.Optim;

namespace Reweighting.Modeling.Training;

/// <summary>The detached per-sample mean losses and token counts of one micro-batch, for a weighting strategy.</summary>
public sealed record SampleLosses(double[] Losses, long[] TokenCounts);

/// <summary>What the trainer reports after each optimiser step (<see cref="CollectiveTime"/>: the run's time in gradient
/// averaging so far, zero on one process).</summary>
public sealed record TrainingProgress(long Step, long TotalSteps, double Loss, double LearningRate, double GradNorm, double TokensPerSecond, TimeSpan Eta,
    IReadOnlyDictionary<string, double>? HeldOutLoss = null, string? ObjectiveSummary = null, TimeSpan CollectiveTime = default);

/// <summary>Pretrains a GPT with uniform weighting: AdamW (no decay on biases, norms, embeddings), warm-up then
/// cosine decay, clipping, gradient accumulation, bfloat16 autocast on CUDA, periodic held-out loss per domain,
/// and checkpoints from which a run resumes on the same trajectory.</summary>
public sealed class GptTrainer(GptModel model, TokenStream data, TrainingOptions options)
{
    private readonly TrainingOptions _options = options.Validate();

    /// <summary>Held-out documents (token ids) per domain, evaluated every EvalEvery steps and at the end.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<IReadOnlyList<long>>> HeldOut { get; init; } =
        new Dictionary<string, IReadOnlyList<IReadOnlyList<long>>>();

    /// <summary>Directory checkpoints are written to (null: none).</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Tokenizer files copied into every checkpoint.</summary>
    public string? TokenizerDirectory { get; init; }

    /// <summary>The data-parallel group (null: one process). <see cref="TrainingOptions.BatchSize"/> stays the global
    /// micro-batch: rank r trains rows [r·B/N, (r+1)·B/N) of every micro-batch one process would train, every rank reads the
    /// same <see cref="TokenStream"/> (same seed, same order), gradients are averaged before the update, so N ranks follow
    /// one process on the same global batch. Rank 0 alone evaluates, reports and writes checkpoints; a stop (cancellation
    /// on any rank) is agreed at the end of a step, so every rank stops after the same one.</summary>
    public ProcessGroup? Group { get; init; }

    private bool IsLeader => Group is null || Group.Rank == 0;

    /// <summary>Runs to <see cref="TrainingOptions.Steps"/>, resuming from <paramref name="resumeFrom"/> when given.
    /// Cancellation stops after the current step and writes a checkpoint. Returns the loss of every step run.</summary>
    public List<double> Run(string? resumeFrom = null, Action<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        var device = Device.Parse(_options.Device);
        var world = Group?.WorldSize ?? 1;
        var rank = Group?.Rank ?? 0;
        if (_options.BatchSize % world != 0)
            throw new ArgumentException($"a micro-batch of {_options.BatchSize} sequences does not split evenly over {world} ranks");
        var rows = _options.BatchSize / world;
        using var training = new TrainingStep(model, _options) { Group = Group };
        var optimizer = training.Optimizer;
        var objective = Objective ?? (SampleWeights is null ? new MeanTokenLossObjective() : new SampleCoefficientObjective(SampleWeights));
        long step = 0;
        if (resumeFrom is not null)
        {
            var objectiveState = Path.Combine(resumeFrom, ObjectiveStateFile);
            if (File.Exists(objectiveState)) objective.LoadState(File.ReadAllText(objectiveState));
            Checkpoint.LoadWeightsInto(resumeFrom, model);
            var state = Checkpoint.LoadTrainingState(resumeFrom, optimizer)
                        ?? throw new InvalidDataException($"{resumeFrom} holds no training state to resume from");
            step = state.Step;
        }
        var losses = new List<double>();
        var sequencesPerStep = (long)_options.BatchSize * _options.GradientAccumulation;
        var tokensPerStep = sequencesPerStep * _options.SequenceLength;
        var clock = Stopwatch.StartNew();
        var startStep = step;
        while (step < _options.Steps && !StopAgreed(cancel))
        {
            var first = step * sequencesPerStep;
            var result = training.Run(step, objective, () => Enumerable.Range(0, _options.GradientAccumulation).Select(micro =>
            {
                var (x, y) = data.Batch(first + (long)micro * _options.BatchSize + (long)rank * rows, rows);
                return training.MicroBatch(x, y, rows, step, micro);
            }).ToList());
            var (stepLoss, lr, norm) = (result.Loss, result.LearningRate, result.GradNorm);
            step++;
            losses.Add(stepLoss);

            IReadOnlyDictionary<string, double>? heldOut = null;
            if (IsLeader && (step == _options.Steps || (_options.EvalEvery > 0 && step % _options.EvalEvery == 0)))
                heldOut = Evaluate(device);
            var rate = (step - startStep) * tokensPerStep / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
            var eta = TimeSpan.FromSeconds((_options.Steps - step) * tokensPerStep / Math.Max(1e-9, rate));
            var summary = objective.TakeSummary();
            if (IsLeader)
                progress?.Invoke(new TrainingProgress(step, _options.Steps, stepLoss, lr, norm, rate, eta, heldOut, summary,
                    training.CollectiveTime));
            if (IsLeader && CheckpointDirectory is not null && _options.CheckpointEvery > 0 && step % _options.CheckpointEvery == 0
                && step < _options.Steps)
                Save(optimizer, objective, step);
        }
        if (IsLeader && CheckpointDirectory is not null) Save(optimizer, objective, step);
        // The other ranks wait for rank 0's checkpoint, so a job whose processes have all exited has written it.
        Group?.Barrier();
        return losses;
    }

    /// <summary>Whether to stop before the next step: this process's cancellation, or any rank's under data parallelism
    /// (one all-reduce of a flag per step, so no rank waits in a collective for a rank that stopped).</summary>
    private bool StopAgreed(CancellationToken cancel)
    {
        return Group is { WorldSize: > 1 } group ? group.AnyRank(cancel.IsCancellationRequested) : cancel.IsCancellationRequested;
    }

    /// <summary>Per-sample loss coefficients a_i for a step (the objective becomes sum_i a_i l_i, l_i a sequence's mean
    /// token loss); a shorthand for <see cref="Objective"/> = <see cref="SampleCoefficientObjective"/>.</summary>
    public Func<SampleLosses, long, double[]>? SampleWeights { get; init; }

    /// <summary>What each step minimises (default: the mean token loss, or <see cref="SampleWeights"/> when set).</summary>
    public ITrainingObjective? Objective { get; init; }

    /// <summary>The file in a checkpoint directory holding the objective's state (phi of meta-em), when it has one.</summary>
    public const string ObjectiveStateFile = "objective_state.json";

    /// <summary>Mean token loss (nats) of the held-out documents per domain, plus "all" over every token.</summary>
    public IReadOnlyDictionary<string, double> Evaluate(Device device) =>
        HeldOut.Count == 0
            ? new Dictionary<string, double>()
            : HeldOutLoss.Compute(model, HeldOut, device, _options.BatchSize).ToDictionary(kv => kv.Key, kv => kv.Value.Loss);

    private void Save(AdamW optimizer, ITrainingObjective objective, long step)
    {
        var state = new TrainingState(step, step * _options.BatchSize * _options.GradientAccumulation * _options.SequenceLength,
            JsonSerializer.Serialize(_options));
        Checkpoint.Save(CheckpointDirectory!, model, TokenizerDirectory, optimizer, state,
            objective.SaveState() is { } json ? new Dictionary<string, string> { [ObjectiveStateFile] = json } : null);
    }
}
