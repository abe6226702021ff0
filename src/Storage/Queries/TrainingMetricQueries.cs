using Npgsql;

namespace Reweighting.Storage.Queries;

/// <summary>A training run's validation losses: <c>valid_loss</c> by step (all domains), and the last
/// <c>valid_loss/DOMAIN</c> of each domain.</summary>
public sealed record ValidationLosses(IReadOnlyList<(long Step, double Loss)> Curve, IReadOnlyDictionary<string, double> FinalByDomain);

/// <summary>Reads the metrics training runs recorded in <c>training_metrics</c>.</summary>
public sealed class TrainingMetricQueries(NpgsqlDataSource dataSource)
{
    private const string ValidLoss = "valid_loss";

    /// <summary>The validation losses of run <paramref name="runId"/> (empty when it recorded none).</summary>
    public async Task<ValidationLosses> ValidationLossesAsync(string runId, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand($"SELECT step, name, value FROM training_metrics WHERE run_id = $1 AND name LIKE '{ValidLoss}%' ORDER BY step");
        cmd.Parameters.Add(new NpgsqlParameter { Value = runId });
        var curve = new List<(long, double)>();
        var byDomain = new Dictionary<string, double>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var name = reader.GetString(1);
            if (name == ValidLoss) curve.Add((reader.GetInt64(0), reader.GetDouble(2)));
            else byDomain[name[(ValidLoss.Length + 1)..]] = reader.GetDouble(2);
        }
        return new ValidationLosses(curve, byDomain);
    }
}
