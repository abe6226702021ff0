using System.Text.Json;

namespace Reweighting.Dashboard;

/// <summary>Reads per-partition consumer lag out of librdkafka's statistics JSON (statistics.interval.ms).</summary>
internal static class ConsumerLagStatistics
{
    /// <summary>Lag of every partition the statistics know it for, or null when the text is not librdkafka statistics.
    /// The lag behind the stored offset wins over the one behind the committed offset: the scorer stores an offset once
    /// its batch is in PostgreSQL, and commits it to Kafka a little later. Partitions with no lag yet (-1) and
    /// librdkafka's internal partition -1 are left out.</summary>
    public static Dictionary<(string Topic, int Partition), long>? Parse(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (!document.RootElement.TryGetProperty("topics", out var topics) || topics.ValueKind != JsonValueKind.Object) return null;
            var lag = new Dictionary<(string, int), long>();
            foreach (var topic in topics.EnumerateObject())
            {
                if (!topic.Value.TryGetProperty("partitions", out var partitions) || partitions.ValueKind != JsonValueKind.Object) continue;
                foreach (var partition in partitions.EnumerateObject())
                {
                    if (!int.TryParse(partition.Name, out var id) || id < 0) continue;
                    var value = Lag(partition.Value, "consumer_lag_stored") ?? Lag(partition.Value, "consumer_lag");
                    if (value is { } known) lag[(topic.Name, id)] = known;
                }
            }
            return lag;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static long? Lag(JsonElement partition, string name) =>
        partition.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var lag) && lag >= 0 ? lag : null;
}
