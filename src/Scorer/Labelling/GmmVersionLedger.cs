using Npgsql;
using Reweighting.Contracts;
using Reweighting.Storage.Models;
using Reweighting.Storage.Queries;

namespace Reweighting.Scorer.Labelling;

/// <summary>The labeller's view of the store: the latest GMM version of a scorer model, the next free version number,
/// and a random sample of stored statistics. Versions themselves are written and read by <see cref="GmmModelStore"/>.</summary>
public sealed class GmmVersionLedger(NpgsqlDataSource dataSource)
{
    private readonly GmmModelStore _models = new(dataSource);
    private readonly SampleStatisticsQueries _statistics = new(dataSource);

    /// <summary>The newest stored version fitted for <paramref name="scorerModel"/>, or null when there is none.</summary>
    public async Task<GmmModel?> LatestAsync(string scorerModel, CancellationToken ct = default) =>
        await _models.LatestVersionAsync(scorerModel, ct) is { } version ? await _models.GetAsync(version, ct) : null;

    /// <summary>Stores <paramref name="build"/>(v) under the next free version number v. Version numbers are global
    /// (the primary key of <c>gmm_models</c>), so another scorer instance may take a number first; the insert then
    /// fails on the key and is tried again with the next number.</summary>
    public async Task<GmmModel> SaveNextAsync(Func<int, GmmModel> build, CancellationToken ct = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            var model = build(await _models.NextVersionAsync(ct));
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
    /// <paramref name="scorerModel"/> and how many rows it was drawn from. Seeded, so a restart is repeatable; the random
    /// order costs a scan of the model's rows, once per start.</summary>
    public Task<(List<StoredStatistics> Sample, long Population)> SampleStatisticsAsync(
        string scorerModel, int size, int seed, CancellationToken ct = default) =>
        _statistics.RandomSampleAsync(scorerModel, size, seed, ct);
}
