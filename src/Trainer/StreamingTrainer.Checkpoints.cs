using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Reweighting.Contracts;
using Reweighting.Contracts.Control;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Training;
using Reweighting.Trainer.Streaming;

namespace Reweighting.Trainer;

public sealed partial class StreamingTrainer
{
    /// <summary>Writes the checkpoint (model, optimizer, objective state with phi, step, consumed offsets, the packed
    /// remainder, recent batch ids, held-out validation, the GMM) by staging a directory and renaming it into place; then
    /// commits the offsets to the consumer group for lag monitoring (best effort).</summary>
    private void Save(IConsumer<string?, byte[]> consumer)
    {
        var t = _options.Training;
        var offsets = _intake.Offsets;
        var offsetMap = offsets.ToDictionary(kv => StreamState.OffsetKey(kv.Key.Topic, kv.Key.Partition.Value), kv => kv.Value);
        var state = new TrainingState(Step, Step * _intake.SequencesPerStep * t.SequenceLength, JsonSerializer.Serialize(_options), offsetMap);
        var stream = new StreamState(RunId, _options.Strategy, _intake.Packer.Save(), _intake.Deduplicator.Save(), _trainedBatches,
            _validationFromStream ? _validation.Save() : null, _setup.Gmm);
        var extra = new Dictionary<string, string> { [StreamState.FileName] = stream.ToJson() };
        if (_setup.Objective?.SaveState() is { } objectiveState) extra[GptTrainer.ObjectiveStateFile] = objectiveState;
        Checkpoint.Save(_options.CheckpointDirectory, _model, null, _trainingStep.Optimizer, state, extra);
        _logger.LogInformation("Checkpoint of run {RunId} at step {Step} in {Directory}: offsets {Offsets}", RunId, Step, _options.CheckpointDirectory,
            string.Join(", ", offsetMap.Select(kv => $"{kv.Key}={kv.Value}")));
        try
        {
            if (offsets.Count > 0) consumer.Commit(offsets.Select(kv => new TopicPartitionOffset(kv.Key, new Offset(kv.Value))));
        }
        catch (KafkaException e)
        {
            _logger.LogWarning("Committing offsets to group {Group} failed ({Reason}); the checkpoint holds them", _options.ConsumerGroup, e.Error.Reason);
        }
        _steps.Publish(new TrainerCheckpointed(RunId, Step, Path.GetFullPath(_options.CheckpointDirectory),
            offsets.Select(kv => new ConsumerOffset(_options.ConsumerGroup, kv.Key.Topic, kv.Key.Partition.Value, kv.Value)).ToList()));
    }

    /// <summary>Restores a checkpoint when the directory holds one; returns whether it did.</summary>
    private bool Resume()
    {
        var directory = _options.CheckpointDirectory;
        RecoverInterruptedSwap(directory);
        if (!File.Exists(Path.Combine(directory, Checkpoint.StateFile))) return false;
        var streamPath = Path.Combine(directory, StreamState.FileName);
        if (!File.Exists(streamPath)) throw new InvalidDataException($"{directory} is a checkpoint but not a streaming trainer's: it has no {StreamState.FileName}");
        var stream = StreamState.FromJson(File.ReadAllText(streamPath), streamPath);
        if (stream.Strategy != _options.Strategy)
            throw new InvalidOperationException($"the checkpoint in {directory} trains with {stream.Strategy}, the configuration says {_options.Strategy}; use another checkpoint directory for a new run");
        if (_options.RunId is { } configured && configured != stream.RunId)
            throw new InvalidOperationException($"the checkpoint in {directory} belongs to run {stream.RunId}, the configuration names run {configured}");
        Checkpoint.LoadWeightsInto(directory, _model);
        var state = Checkpoint.LoadTrainingState(directory, _trainingStep.Optimizer)
                    ?? throw new InvalidDataException($"{directory} holds no training state");
        _steps.RunId = stream.RunId;
        Step = state.Step;
        _intake.Restore(state.Offsets ?? new Dictionary<string, long>(), stream);
        _trainedBatches = stream.TrainedBatches;
        if (_validationFromStream && stream.Validation is not null) _validation.Load(stream.Validation);
        _setup.Restore(stream.Gmm);
        // The objective existed when the checkpoint was written: rebuild it from the same inputs and restore its state.
        var objectivePath = Path.Combine(directory, GptTrainer.ObjectiveStateFile);
        if (_options.NeedsGmm && _setup.Gmm is null) throw new InvalidDataException($"the checkpoint in {directory} lacks the GMM its {_options.Strategy} run weighs with");
        TrySetUpObjectiveAsync(idle: true, CancellationToken.None).GetAwaiter().GetResult();
        if (File.Exists(objectivePath)) _setup.Objective!.LoadState(File.ReadAllText(objectivePath));
        return true;
    }

    /// <summary>Completes or undoes a checkpoint swap a crash interrupted: <c>Checkpoint.Save</c> moves the old directory
    /// aside (<c>name.GUID.old</c>) before moving the staged one in, so a missing directory with an aside copy means the
    /// crash fell between the two renames, and the aside copy is the last complete checkpoint.</summary>
    internal static void RecoverInterruptedSwap(string directory)
    {
        var full = Path.GetFullPath(directory);
        var parent = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(parent)) return;
        var name = Path.GetFileName(full);
        var aside = Directory.GetDirectories(parent, name + ".*.old").OrderByDescending(Directory.GetLastWriteTimeUtc).ToList();
        if (!Directory.Exists(full) && aside.Count > 0)
        {
            Directory.Move(aside[0], full);
            aside.RemoveAt(0);
        }
        foreach (var old in aside) Directory.Delete(old, recursive: true);
        foreach (var staging in Directory.GetDirectories(parent, $".{name}.*.staging")) Directory.Delete(staging, recursive: true);
    }
}
