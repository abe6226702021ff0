using Npgsql;
using Reweighting.Contracts;

namespace Reweighting.Storage.Queries;

/// <summary>Reads a score row's statistics from six columns in the order n_tokens, loss_mean, loss_variance,
/// scored_bytes (NULL on rows stored before bytes were counted), compression_ratio and order_gain (NULL before they were
/// measured; the order gain also for a text without words).</summary>
internal static class StatisticsReader
{
    /// <summary>The columns, for a SELECT list.</summary>
    public const string Columns = "n_tokens, loss_mean, loss_variance, scored_bytes, compression_ratio, order_gain";

    public static StoredStatistics Read(NpgsqlDataReader reader, int first) => new(
        Convert.ToInt64(reader.GetValue(first), System.Globalization.CultureInfo.InvariantCulture), reader.GetDouble(first + 1),
        reader.GetDouble(first + 2), reader.IsDBNull(first + 3) ? null : reader.GetInt64(first + 3),
        reader.IsDBNull(first + 4) ? null : reader.GetDouble(first + 4), reader.IsDBNull(first + 5) ? null : reader.GetDouble(first + 5));
}
