using Npgsql;
using Reweighting.Contracts;

namespace Reweighting.Storage.Queries;

/// <summary>The stored (loss mean, loss variance) statistics of a scorer model, as a GMM is fitted on them.</summary>
public sealed class SampleStatisticsQueries(NpgsqlDataSource dataSource)
{
    // Finite statistics only, as a mixture takes them; PostgreSQL orders NaN above Infinity.
    private const string FiniteRows = "scorer_model = $1 AND abs(loss_mean) < 'Infinity' AND abs(loss_variance) < 'Infinity'";

    /// <summary>A uniform random sample (at most <paramref name="size"/>) of the finite stored statistics of
    /// <paramref name="scorerModel"/> and how many rows it was drawn from, read in one repeatable-read transaction.
    /// Seeded, so the same rows give the same sample; all of them, in document order, when they are no more than
    /// <paramref name="size"/>.</summary>
    public async Task<(List<StoredStatistics> Sample, long Population)> RandomSampleAsync(
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
        var sample = new List<StoredStatistics>((int)Math.Min(population, size));
        if (population == 0) return (sample, 0);
        await using (var setSeed = new NpgsqlCommand("SELECT setseed($1)", conn, tx))
        {
            // setseed takes [-1, 1]; map the integer seed into it deterministically.
            setSeed.Parameters.Add(new NpgsqlParameter { Value = (seed % 1_000_000) / 1_000_000.0 });
            await setSeed.ExecuteNonQueryAsync(ct);
        }
        // The random order costs a scan of the model's rows.
        await using var select = new NpgsqlCommand(population <= size
            ? $"SELECT {StatisticsReader.Columns} FROM sample_scores WHERE {FiniteRows} ORDER BY document_id"
            : $"SELECT {StatisticsReader.Columns} FROM sample_scores WHERE {FiniteRows} ORDER BY random() LIMIT $2", conn, tx);
        select.Parameters.Add(new NpgsqlParameter { Value = scorerModel });
        if (population > size) select.Parameters.Add(new NpgsqlParameter { Value = size });
        await using var reader = await select.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) sample.Add(StatisticsReader.Read(reader, 0));
        return (sample, population);
    }
}
