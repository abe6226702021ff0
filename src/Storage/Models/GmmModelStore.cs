using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;
using NpgsqlTypes;
using Reweighting.Contracts;

namespace Reweighting.Storage.Models;

/// <summary>Stores and loads GMM versions. Parameters, and the document-level noise detector a version carries, are kept
/// as JSON so people can read them with SQL (<c>parameters-&gt;'weights'</c>, <c>novelty-&gt;'noise_share'</c>).</summary>
public sealed class GmmModelStore(NpgsqlDataSource dataSource)
{
    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>Stores a GMM version; a version number is written once and never changed.</summary>
    public async Task SaveAsync(GmmModel model, CancellationToken ct = default)
    {
        var p = model.Parameters;
        if (model.LabelMap.Length != p.Components)
            throw new ArgumentException($"GMM version {model.Version} has {p.Components} components but {model.LabelMap.Length} labels");
        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO gmm_models (version, scorer_model, n_components, n_features, parameters, label_map, sample_count, log_likelihood,
                                    fitted_at, novelty)
            VALUES ($1, $2, $3, $4, $5, $6::text[]::sample_label[], $7, $8, $9, $10)
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = model.Version });
        cmd.Parameters.Add(new NpgsqlParameter { Value = model.ScorerModel });
        cmd.Parameters.Add(new NpgsqlParameter { Value = p.Components });
        cmd.Parameters.Add(new NpgsqlParameter { Value = p.Dimensions });
        cmd.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(p, Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
        cmd.Parameters.Add(new NpgsqlParameter { Value = model.LabelMap.Select(l => l.ToWire()).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = model.SampleCount });
        cmd.Parameters.Add(new NpgsqlParameter { Value = model.LogLikelihood });
        cmd.Parameters.Add(new NpgsqlParameter { Value = model.FittedAt.ToUniversalTime() });
        cmd.Parameters.Add(new NpgsqlParameter
        {
            Value = model.Novelty is null ? DBNull.Value : JsonSerializer.Serialize(model.Novelty, Json),
            NpgsqlDbType = NpgsqlDbType.Jsonb,
        });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The stored GMM version, or null when there is none.</summary>
    public async Task<GmmModel?> GetAsync(int version, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("""
            SELECT version, scorer_model, parameters::text, label_map::text[], sample_count, log_likelihood, fitted_at, novelty::text
            FROM gmm_models WHERE version = $1
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = version });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        var parameters = JsonSerializer.Deserialize<GmmParameters>(reader.GetString(2), Json)
            ?? throw new InvalidDataException($"GMM version {version} has empty parameters");
        return new GmmModel(reader.GetInt32(0), reader.GetString(1), parameters,
            reader.GetFieldValue<string[]>(3).Select(SampleLabels.Parse).ToArray(),
            reader.GetInt64(4), reader.IsDBNull(5) ? double.NaN : reader.GetDouble(5), reader.GetFieldValue<DateTimeOffset>(6),
            reader.IsDBNull(7) ? null : JsonSerializer.Deserialize<NoveltyParameters>(reader.GetString(7), Json));
    }

    /// <summary>Stored version numbers, newest first.</summary>
    public async Task<IReadOnlyList<int>> VersionsAsync(CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("SELECT version FROM gmm_models ORDER BY version DESC");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var versions = new List<int>();
        while (await reader.ReadAsync(ct)) versions.Add(reader.GetInt32(0));
        return versions;
    }

    /// <summary>The newest version fitted for <paramref name="scorerModel"/>, or null when there is none.</summary>
    public async Task<int?> LatestVersionAsync(string scorerModel, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("SELECT max(version) FROM gmm_models WHERE scorer_model = $1");
        cmd.Parameters.Add(new NpgsqlParameter { Value = scorerModel });
        return await cmd.ExecuteScalarAsync(ct) is int version ? version : null;
    }

    /// <summary>One past the largest stored version number (1 when none is stored). Another writer may take it before
    /// this one saves: <see cref="SaveAsync"/> then fails on the primary key.</summary>
    public async Task<int> NextVersionAsync(CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("SELECT COALESCE(max(version), 0) + 1 FROM gmm_models");
        return (int)(await cmd.ExecuteScalarAsync(ct))!;
    }
}
