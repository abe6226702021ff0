using Npgsql;
using Reweighting.Contracts;
using Reweighting.Storage.Models;

namespace Reweighting.Scorer.Labelling;

/// <summary>The labeller's view of the store: the latest GMM version of a scorer model, the next free version number,
/// and a random sample of stored statistics. Versions themselves are written and read by <see cref="GmmModelStore"/>.</summary>
public sealed class GmmVersionLedger(NpgsqlDataSource dataSource)
{
    // Finite statistics only, as the reservoir takes them; PostgreSQL orders NaN above Infinity.
    private const string FiniteRows = "scorer_model = $1 AND abs(loss_mean) < 'Infinity' AND abs(loss_variance) < 'Infinity'";

    private readonly GmmModelStore _models = new(dataSource);

    /// <summary>The newest stored version fitted for <paramref name="scorerModel"/>, or null when there is none.</summary>
    public async Task<GmmModel?> LatestAsync(string scorerModel, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("SELECT max(version) FROM gmm_models WHERE scorer_model = $1");
        cmd.Parameters.Add(new NpgsqlParameter { Value = scorerModel });
        return await cmd.ExecuteScalarAsync(ct) is int version ? await _models.GetAsync(version, ct) : null;
    }

    /// <summary>Stores <paramref name="build"/>(v) under the next free version number v. Version numbers are global
    /// (the primary key of <c>gmm_models</c>), so another scorer instance may take a number first; the insert then
    /// fails on the key and is tried again with the next number.</summary>
    public async Task<GmmModel> SaveNextAsync(Func<int, GmmModel> build, CancellationToken ct = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var cmd = dataSource.CreateCommand("SELECT COALESCE(max(version), 0) + 1 FROM gmm_models");
            var model = build((int)(await cmd.ExecuteScalarAsync(ct))!);
            try
            {
                await _models.SaveAsync(model, ct);
                return model;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation && attempt < 10)
            {
                // Taken by a concurrent writer between the two statements; the next max() sees it.
            }
        }
    }

    /// <summary>A uniform random sample (at most <paramref name="size"/>) of the stored statistics of
    /// <paramref name="scorerModel"/> and how many rows it was drawn from. Seeded, so a restart is repeatable.</summary>
    public async Task<(List<(double Mean, double Variance)> Sample, long Population)> SampleStatisticsAsync(
        string scorerModel, int size, int seed, CancellationToken ct = default)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        long population;
        await using (var count = new NpgsqlCommand($"SELECT count(*) FROM sample_scores WHERE {FiniteRows}", conn, tx))
        {
            count.Parameters.Add(new NpgsqlParameter { Value = scorerModel });
            population = (long)(await count.ExecuteScalarAsync(ct))!;
        }
        var sample = new List<(double, double)>((int)Math.Min(population, size));
        if (population == 0) return (sample, 0);
        await using (var setSeed = new NpgsqlCommand("SELECT setseed($1)", conn, tx))
        {
            // setseed takes [-1, 1]; map the integer seed into it deterministically.
            setSeed.Parameters.Add(new NpgsqlParameter { Value = (seed % 1_000_000) / 1_000_000.0 });
            await setSeed.ExecuteNonQueryAsync(ct);
        }
        // The random order costs a scan of the model's rows, once per start.
        await using var select = new NpgsqlCommand(population <= size
            ? $"SELECT loss_mean, loss_variance FROM sample_scores WHERE {FiniteRows} ORDER BY document_id"
            : $"SELECT loss_mean, loss_variance FROM sample_scores WHERE {FiniteRows} ORDER BY random() LIMIT $2", conn, tx);
        select.Parameters.Add(new NpgsqlParameter { Value = scorerModel });
        if (population > size) select.Parameters.Add(new NpgsqlParameter { Value = size });
        await using var reader = await select.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) sample.Add((reader.GetDouble(0), reader.GetDouble(1)));
        return (sample, population);
    }
}
