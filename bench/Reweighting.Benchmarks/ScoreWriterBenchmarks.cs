using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Npgsql;
using Reweighting.Contracts;
using Reweighting.Storage.Embedded;
using Reweighting.Storage.Migrations;
using Reweighting.Storage.Writing;

namespace Reweighting.Benchmarks;

/// <summary>The bulk writer on a private throwaway PostgreSQL cluster (durable settings): one transaction of 10,000 score
/// rows whose keys are all new (one binary COPY into the table), and of 10,000 rows whose keys are stored (COPY into a
/// staging table, then upsert). Each operation also builds its rows' records (about a millisecond). psql's plain COPY,
/// another process, stays in <c>reweight bench storage</c>.</summary>
[MemoryDiagnoser]
public class ScoreWriterBenchmarks
{
    private const int Rows = 10_000;
    private string _root = "";
    private EmbeddedPostgres? _server;
    private NpgsqlDataSource? _dataSource;
    private ScoreBatchWriter _writer = null!;
    private SampleScore[] _scores = [];
    private int _models;

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup() => CleanupAsync().GetAwaiter().GetResult();

    [Benchmark(Description = "10,000 new rows (COPY)")]
    public async Task<int> NewRows() => await WriteAsync($"proxy-{Interlocked.Increment(ref _models)}", RowWritePath.Copied);

    [Benchmark(Description = "10,000 stored rows (staging COPY + upsert)")]
    public async Task<int> StoredRows() => await WriteAsync("proxy-stored", RowWritePath.Upserted);

    private async Task<int> WriteAsync(string model, RowWritePath expected)
    {
        var id = Guid.NewGuid();
        var rows = Array.ConvertAll(_scores, s => s with { ScorerModel = model, BatchId = id });
        var result = await _writer.WriteAsync(new ScoreBatch(id, [], rows, []));
        // A figure labelled with one path must have taken it.
        if (result.ScorePath != expected) throw new InvalidOperationException($"the batch took {result.ScorePath}, not {expected}");
        return result.ScoreRows;
    }

    private async Task SetupAsync()
    {
        // Not CreateTempSubdirectory: its mode 700 shuts out the postgres user the embedded server runs as under root.
        _root = Path.Combine(Path.GetTempPath(), "reweight-bdn-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_root);
        _server = new EmbeddedPostgres(new EmbeddedPostgresOptions { DataDirectory = Path.Combine(_root, "data") });
        await _server.StartAsync();
        _dataSource = NpgsqlDataSource.Create(_server.ConnectionString);
        await new MigrationRunner(_dataSource).MigrateAsync();
        _writer = new ScoreBatchWriter(_dataSource);

        var random = new Random(42);
        var documents = new Document[Rows];
        _scores = new SampleScore[Rows];
        for (var i = 0; i < Rows; i++)
        {
            var id = $"doc-{i:D9}";
            var text = $"benchmark document {i}";
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(text));
            documents[i] = new Document(id, i % 5 == 0 ? "code" : "web", "bench", hash, text.Length, text);
            var a = random.NextDouble();
            var b = random.NextDouble() * (1 - a);
            double[] gamma = [a, b, 1 - a - b];
            var tokens = 256 + random.Next(4096);
            _scores[i] = new SampleScore(id, "", tokens, tokens * 4L, 2 + random.NextDouble() * 6, random.NextDouble() * 4, gamma,
                (SampleLabel)Array.IndexOf(gamma, gamma.Max()), gamma.Max(), null, Guid.Empty, DateTimeOffset.UtcNow);
        }
        await _writer.WriteAsync(new ScoreBatch(Guid.NewGuid(), documents, [], []));
        await WriteAsync("proxy-stored", RowWritePath.Copied);
    }

    private async Task CleanupAsync()
    {
        if (_dataSource is not null) await _dataSource.DisposeAsync();
        if (_server is not null) await _server.DisposeAsync();
        if (_root.Length > 0) Directory.Delete(_root, recursive: true);
    }
}
