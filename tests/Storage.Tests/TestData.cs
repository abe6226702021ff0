using System.Security.Cryptography;
using System.Text;
using Npgsql;
using Reweighting.Contracts;
using Reweighting.Storage.Writing;

namespace Reweighting.Storage.Tests;

/// <summary>Builds documents, scores and batches for tests.</summary>
internal static class TestData
{
    public const string Model = "proxy-test";
    public static readonly DateTimeOffset T0 = new(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Retries short enough for tests: three, from 10 ms.</summary>
    public static readonly WriteRetryOptions FastRetry = new() { MaxRetries = 3, BaseDelay = TimeSpan.FromMilliseconds(10) };

    public static Document Document(string id, string? domain = "web", string? text = null)
    {
        text ??= $"text of {id}";
        return new Document(id, domain, "test", SHA256.HashData(Encoding.UTF8.GetBytes(text)), text.Length, text[..Math.Min(80, text.Length)]);
    }

    public static SampleScore Score(string documentId, double mean = 3.0, double variance = 1.0, SampleLabel label = SampleLabel.Hard,
        DateTimeOffset? at = null, Guid? batch = null, string model = Model, int? gmmVersion = null) =>
        new(documentId, model, 100, 400, mean, variance, [0.2, 0.5, 0.3], label, 0.5, gmmVersion, batch ?? Guid.Empty, at ?? T0);

    /// <summary>A batch of <paramref name="count"/> fresh documents with a score each, advancing one partition to <paramref name="nextOffset"/>.</summary>
    public static ScoreBatch Batch(string prefix, int count, int partition = 0, long? nextOffset = null, string group = "scorer", Guid? id = null)
    {
        var batchId = id ?? Guid.NewGuid();
        var docs = Enumerable.Range(0, count).Select(i => Document($"{prefix}-{i}")).ToList();
        var scores = docs.Select((d, i) => Score(d.Id, mean: 1 + i % 7, variance: 0.5 + i % 3, label: (SampleLabel)(i % 3), batch: batchId)).ToList();
        var offsets = nextOffset is { } n ? new[] { new ConsumerOffset(group, "documents", partition, n) } : [];
        return new ScoreBatch(batchId, docs, scores, offsets);
    }

    public static async Task<long> CountAsync(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    /// <summary>Every row of a query rendered as text, in a stable order, to compare table contents before and after.</summary>
    public static async Task<List<string>> DumpAsync(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand($"SELECT t::text FROM ({sql}) t ORDER BY 1");
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync()) rows.Add(reader.GetString(0));
        return rows;
    }

    public static async Task ExecuteAsync(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }
}
