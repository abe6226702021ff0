using System.Text.Json;
using System.Text.Json.Serialization;
using Reweighting.Contracts;

namespace Reweighting.Trainer.Streaming;

/// <summary>The streaming part of a trainer checkpoint (<c>stream_state.json</c>), beside the model, optimizer, objective
/// state and <c>trainer_state.json</c> (step, tokens, config, consumed offsets): what was consumed but not yet trained,
/// so a restart that seeks to the stored offsets trains every batch exactly once.</summary>
/// <param name="RunId">The run (training_runs.run_id).</param>
/// <param name="Strategy">The strategy the run trains with.</param>
/// <param name="Packer">Documents consumed but not fully trained.</param>
/// <param name="RecentBatches">Ids of the most recent batches consumed, oldest first (deduplication).</param>
/// <param name="TrainedBatches">Batches whose every token has been trained, and batches with nothing to train.</param>
/// <param name="Validation">Documents held out of the stream (null when validation comes from a file).</param>
/// <param name="Gmm">The GMM meta-em or cluster-heuristic weighs with (null for the other strategies).</param>
public sealed record StreamState(
    [property: JsonPropertyName("run_id")] string RunId,
    [property: JsonPropertyName("strategy")] string Strategy,
    [property: JsonPropertyName("packer")] PackerState Packer,
    [property: JsonPropertyName("recent_batches")] IReadOnlyList<Guid> RecentBatches,
    [property: JsonPropertyName("trained_batches")] long TrainedBatches,
    [property: JsonPropertyName("validation")] ValidationState? Validation,
    [property: JsonPropertyName("gmm")] GmmModel? Gmm)
{
    /// <summary>File name inside the checkpoint directory.</summary>
    public const string FileName = "stream_state.json";

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static StreamState FromJson(string json, string path)
    {
        try
        {
            return JsonSerializer.Deserialize<StreamState>(json, Json) ?? throw new InvalidDataException($"{path} is empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a trainer stream state: {e.Message}", e);
        }
    }

    /// <summary>The key of a partition in <c>TrainingState.Offsets</c>: "topic:partition".</summary>
    public static string OffsetKey(string topic, int partition) => $"{topic}:{partition}";
}
