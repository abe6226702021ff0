using System.Text.Json;
using Microsoft.Extensions.Logging;
using Reweighting.Contracts;
using Reweighting.Objectives;
using Reweighting.Torch.Distributed;
using Reweighting.Trainer.Streaming;

namespace Reweighting.Trainer;

public sealed partial class StreamingTrainer
{
    private enum StepOutcome
    {
        NotSetUp,
        Stepped,
        StopAgreed,
    }

    /// <summary>Sets the objective up when it is not yet, then takes a step; under data parallelism rank 0 tells the other
    /// ranks each (with the GMM it resolved), and any rank that was asked to stop turns the step into a stop.</summary>
    private async Task<StepOutcome> SetUpAndStepAsync(bool idle, List<double> losses, CancellationToken ct)
    {
        if (_setup.Objective is null)
        {
            if (!await TrySetUpObjectiveAsync(idle, ct)) return StepOutcome.NotSetUp;
            if (!Agree(ReplicaCommand.SetUp, _setup.Gmm is { } gmm ? JsonSerializer.Serialize(gmm, StreamState.Json) : "", ct))
                return StepOutcome.StopAgreed;
        }
        if (!Agree(ReplicaCommand.Step, "", ct)) return StepOutcome.StopAgreed;
        losses.Add(await TrainStepAsync());
        return StepOutcome.Stepped;
    }

    /// <summary>Rank 0: synchronises the other ranks on <paramref name="command"/>; false when a rank asked to stop, and
    /// every rank then stops. True at once in one process.</summary>
    private bool Agree(ReplicaCommand command, string argument, CancellationToken ct) =>
        _replication is null || _replication.Exchange(command, argument, ct.IsCancellationRequested).Command == command;

    /// <summary>The run of a rank other than 0: it reads no stream and writes no checkpoint, but takes in every record rank 0
    /// read, in the same order, sets the objective up with rank 0's GMM, and trains its rows of each step's batch, until
    /// rank 0 says the run ended. A restart resumes from rank 0's checkpoint (the directory must be the same for every
    /// rank: shared storage across machines).</summary>
    public async Task<StreamingRunResult> FollowAsync(CancellationToken ct = default)
    {
        if (_replication is null || IsLeader)
            throw new InvalidOperationException("only ranks other than 0 of a data-parallel group follow");
        var resumed = Resume();
        AgreeOnResumedStep();
        await _steps.StartAsync(DescribeModel(), _options, Step, ct);
        _logger.LogInformation("Trainer run {RunId} {Action} at step {Step} as rank {Rank} of {World}: rank 0 reads {Topic}",
            RunId, resumed ? "resumes" : "starts", Step, _replication.Group.Rank, _replication.Group.WorldSize, _options.Topic);
        await JudgeNoiseByStoredVersionAsync(ct);
        var losses = new List<double>();
        TrainerStopReason stopReason;
        try
        {
            while (true)
            {
                var sync = _replication.Exchange(ReplicaCommand.Continue, "", ct.IsCancellationRequested);
                foreach (var record in sync.Records) Absorb(record);
                if (sync.Command == ReplicaCommand.Stop)
                {
                    stopReason = TrainerStopReasons.FromText(sync.Argument);
                    break;
                }
                if (sync.Command == ReplicaCommand.SetUp)
                {
                    _setup.Restore(sync.Argument.Length == 0
                        ? null
                        : JsonSerializer.Deserialize<GmmModel>(sync.Argument, StreamState.Json));
                    if (!await TrySetUpObjectiveAsync(idle: true, ct))
                        throw new InvalidOperationException($"rank {_replication.Group.Rank} could not set up the objective rank 0 set up");
                }
                else if (sync.Command == ReplicaCommand.Step)
                {
                    if (_setup.Objective is null)
                        throw new InvalidOperationException("rank 0 asked for a step before the objective was set up");
                    if (!_intake.CanTakeStep)
                        throw new InvalidOperationException(
                            $"rank {_replication.Group.Rank} has not packed the step rank 0 takes: the ranks' streams differ");
                    losses.Add(await TrainStepAsync());
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _logger.LogError(e, "Trainer run {RunId} failed at step {Step} on rank {Rank}", RunId, Step, _replication.Group.Rank);
            throw;
        }
        _logger.LogInformation("Trainer run {RunId} stopped at step {Step} on rank {Rank} ({Reason})", RunId, Step, _replication.Group.Rank,
            stopReason.ToText());
        return new StreamingRunResult(RunId, Step, stopReason, losses, _intake.Duplicates, _intake.Rejected, _intake.SkippedNoisy);
    }

    /// <summary>Under data parallelism, every rank must start from the same step: each reads rank 0's checkpoint.</summary>
    private void AgreeOnResumedStep()
    {
        if (_replication is null) return;
        var steps = GlobalBatch.Gather(_replication.Group, new[] { Step });
        if (steps.Any(s => s != steps[0]))
            throw new InvalidOperationException(
                $"the ranks start from different steps ({string.Join(", ", steps.Select((s, r) => $"rank {r}: {s}"))}): every rank " +
                $"resumes from rank 0's checkpoint in {_options.CheckpointDirectory}, which must be the same directory for all of " +
                "them (shared storage across machines)");
    }

    /// <summary>This rank's rows of a packed micro-batch of the global batch: rank r of N takes rows [r·B/N, (r+1)·B/N).</summary>
    private static PackedSequences RankRows(PackedSequences global, ProcessGroup group) => global with
    {
        // Row-major (B, T): a rank's rows are one contiguous block of the tokens, as of the statistics.
        Inputs = GlobalBatch.Local(group, global.Inputs),
        Targets = GlobalBatch.Local(group, global.Targets),
        Count = global.Count / group.WorldSize,
        Statistics = new SampleStats(GlobalBatch.Local(group, global.Statistics.Means),
            GlobalBatch.Local(group, global.Statistics.Variances)),
    };
}
