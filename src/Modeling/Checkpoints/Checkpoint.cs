using Reweighting.Text.IO;
using System.Text.Json;
using Reweighting.Modeling.Gpt;
using Reweighting.Torch;
using Reweighting.Torch.Optim;

namespace Reweighting.Modeling.Checkpoints;

/// <summary>The training state saved beside the weights so a run resumes on the same trajectory. Dropout masks and
/// the data order are pure functions of (seed, step), so no generator state needs saving; <see cref="Offsets"/> holds
/// the consumed stream offsets of a streaming trainer.</summary>
public sealed record TrainingState(long Step, long TokensSeen, string RunConfig, IReadOnlyDictionary<string, long>? Offsets = null);

/// <summary>The product's checkpoint: a directory holding <c>config.json</c> (GPT-2 names), <c>model.safetensors</c>,
/// the tokenizer files, and for training runs <c>optimizer.safetensors</c> and <c>trainer_state.json</c>. A
/// checkpoint is staged in a sibling directory and swapped in, so a crash leaves the previous one intact.</summary>
public static class Checkpoint
{
    public const string ConfigFile = "config.json";
    public const string ModelFile = "model.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string StateFile = "trainer_state.json";

    /// <summary>Saves a model (and optionally tokenizer files, optimizer/training state and extra text files by name) to
    /// <paramref name="directory"/>, replacing it as a whole.</summary>
    public static void Save(string directory, GptModel model, string? tokenizerDirectory = null, AdamW? optimizer = null, TrainingState? state = null,
        IReadOnlyDictionary<string, string>? extraFiles = null)
    {
        var target = Path.GetFullPath(directory);
        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.staging");
        Directory.CreateDirectory(staging);
        try
        {
            AtomicFile.WriteAllText(Path.Combine(staging, ConfigFile), model.Config.ToJson());
            foreach (var (name, text) in extraFiles ?? new Dictionary<string, string>())
            {
                if (name != Path.GetFileName(name)) throw new ArgumentException($"extra checkpoint file '{name}' must be a plain file name");
                AtomicFile.WriteAllText(Path.Combine(staging, name), text);
            }
            SafeTensors.Save(Path.Combine(staging, ModelFile), model.StateDict(),
                new Dictionary<string, string> { ["format"] = "pt", ["producer"] = "reweighting" });
            if (tokenizerDirectory is not null)
            {
                foreach (var file in Directory.GetFiles(tokenizerDirectory))
                {
                    var name = Path.GetFileName(file);
                    if (name is ConfigFile or ModelFile or OptimizerFile or StateFile) continue;
                    File.Copy(file, Path.Combine(staging, name));
                }
            }
            if (optimizer is not null)
            {
                var (step, tensors) = optimizer.StateDict();
                SafeTensors.Save(Path.Combine(staging, OptimizerFile), tensors,
                    new Dictionary<string, string> { ["step"] = step.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            }
            if (state is not null)
                AtomicFile.WriteAllText(Path.Combine(staging, StateFile), JsonSerializer.Serialize(state, JsonOptions));
            Swap(staging, target);
        }
        catch
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    // Replace the target directory: move the old one aside, move the new one in, then delete the old one.
    private static void Swap(string staging, string target)
    {
        string? old = null;
        if (Directory.Exists(target))
        {
            old = target + $".{Guid.NewGuid():N}.old";
            Directory.Move(target, old);
        }
        Directory.Move(staging, target);
        if (old is not null) Directory.Delete(old, recursive: true);
    }

    /// <summary>Reads the model config of a checkpoint.</summary>
    public static GptConfig LoadConfig(string directory)
    {
        var path = Path.Combine(directory, ConfigFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"{directory} is not a checkpoint: it has no {ConfigFile}", path);
        return GptConfig.FromJson(File.ReadAllText(path));
    }

    /// <summary>Loads a model saved by <see cref="Save"/> onto <paramref name="device"/>.</summary>
    public static GptModel LoadModel(string directory, Device? device = null)
    {
        var config = LoadConfig(directory);
        var model = new GptModel(config);
        try
        {
            LoadWeightsInto(directory, model);
            if (device is { } d) model.To(d);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Copies a checkpoint's weights into an existing model, refusing a different architecture.</summary>
    public static void LoadWeightsInto(string directory, GptModel model)
    {
        var config = LoadConfig(directory);
        if (config with { Dropout = model.Config.Dropout } != model.Config)
            throw new InvalidDataException($"checkpoint {directory} holds a different architecture ({config}) than the model ({model.Config})");
        var (tensors, _) = SafeTensors.Load(Path.Combine(directory, ModelFile));
        try
        {
            model.LoadStateDict(tensors);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>Restores optimizer moments and returns the training state, or null when the checkpoint has none.</summary>
    public static TrainingState? LoadTrainingState(string directory, AdamW optimizer)
    {
        var statePath = Path.Combine(directory, StateFile);
        if (!File.Exists(statePath)) return null;
        var state = JsonSerializer.Deserialize<TrainingState>(File.ReadAllText(statePath), JsonOptions)
                    ?? throw new InvalidDataException($"{statePath} is empty");
        var (tensors, metadata) = SafeTensors.Load(Path.Combine(directory, OptimizerFile));
        try
        {
            var step = long.Parse(metadata.GetValueOrDefault("step") ?? throw new InvalidDataException($"{OptimizerFile} lacks its step"),
                System.Globalization.CultureInfo.InvariantCulture);
            optimizer.LoadStateDict(step, tensors);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
        return state;
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
