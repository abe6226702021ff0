using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Npgsql;
using Reweighting.Contracts;
using Reweighting.Storage.Embedded;
using Reweighting.Storage.Migrations;
using Reweighting.Storage.Writing;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight bench storage`: sustained score rows/s through the bulk writer (with offsets, one transaction per
/// batch) next to psql's plain COPY of the same rows into the same table, on a private throwaway cluster.</summary>
internal static class StorageBenchCommand
{
    /// <summary>The `storage` subcommand of `reweight bench`.</summary>
    public static Command CreateSubcommand()
    {
        var rows = new Option<int>("--rows") { Description = "Score rows per run", DefaultValueFactory = _ => 1_000_000 };
        var batch = new Option<int>("--batch") { Description = "Rows per writer batch (one transaction each)", DefaultValueFactory = _ => 50_000 };
        var repeat = new Option<int>("--repeat") { Description = "Runs of each side; medians are reported", DefaultValueFactory = _ => 3 };
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON to this file" };
        var markdown = new Option<string?>("--markdown") { Description = "Also write a short Markdown report to this file" };
        var command = new Command("storage",
            "Score rows/s through the bulk writer next to psql's plain COPY of the same rows (on a throwaway local cluster)")
            { rows, batch, repeat, json, markdown };
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                return await RunAsync(parse.GetValue(rows), parse.GetValue(batch), parse.GetValue(repeat),
                    parse.GetValue(json), parse.GetValue(markdown), ct);
            }
            catch (Exception ex) when (ex is PostgresNotInstalledException or EmbeddedPostgresException or NpgsqlException or BatchWriteException)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
                return 1;
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(int rowCount, int batchSize, int repeats, string? jsonPath, string? markdownPath, CancellationToken ct)
    {
        if (rowCount <= 0 || batchSize <= 0 || repeats <= 0)
        {
            Console.Error.WriteLine("error: --rows, --batch and --repeat must be positive");
            return 1;
        }
        var root = Path.Combine(Path.GetTempPath(), "reweight-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        try
        {
            // Durable settings (fsync, synchronous commit): the figures are what a real deployment would see.
            await using var server = new EmbeddedPostgres(new EmbeddedPostgresOptions { DataDirectory = Path.Combine(root, "data") });
            await server.StartAsync(ct);
            await using var dataSource = NpgsqlDataSource.Create(server.ConnectionString);
            await new MigrationRunner(dataSource).MigrateAsync(ct);

            Console.Error.WriteLine($"preparing {rowCount:N0} documents and score rows...");
            var (documents, scores) = Generate(rowCount);
            var writer = new ScoreBatchWriter(dataSource);
            foreach (var chunk in documents.Chunk(batchSize))
                await writer.WriteAsync(new ScoreBatch(Guid.NewGuid(), chunk, [], []), ct);

            var psql = server.BinDirectory is { } bin && File.Exists(Path.Combine(bin, "psql")) ? Path.Combine(bin, "psql") : "psql";
            var binaryFile = Path.Combine(root, "scores.bin");
            var csvFile = Path.Combine(root, "scores.csv");
            var writerRates = new List<double>();
            var rescoreRates = new List<double>();
            var copyBinaryRates = new List<double>();
            var copyCsvRates = new List<double>();
            for (var r = 0; r < repeats; r++)
            {
                // Batches are built before the clock starts: the figure is the writer's, not record construction's.
                var fresh = Batches(scores, batchSize, firstOffset: 0, TimeSpan.Zero);
                // The same keys scored again an hour later: every batch meets stored keys and takes the upsert path.
                var rescored = Batches(scores, batchSize, firstOffset: rowCount, TimeSpan.FromHours(1));
                await ResetAsync(dataSource, ct);
                writerRates.Add(await TimedWritesAsync(writer, fresh, rowCount, RowWritePath.Copied, ct));
                Console.Error.WriteLine($"run {r + 1}: bulk writer, new keys      {writerRates[^1],12:N0} rows/s");

                if (r == 0)
                {
                    // The reference copies exactly the rows the writer stored.
                    await PsqlAsync(psql, server, $"\\copy sample_scores TO '{binaryFile}' WITH (FORMAT binary)", ct);
                    await PsqlAsync(psql, server, $"\\copy sample_scores TO '{csvFile}' WITH (FORMAT csv)", ct);
                }
                await CheckpointAsync(dataSource, ct);
                rescoreRates.Add(await TimedWritesAsync(writer, rescored, rowCount, RowWritePath.Upserted, ct));
                Console.Error.WriteLine($"run {r + 1}: bulk writer, stored keys   {rescoreRates[^1],12:N0} rows/s");
                copyBinaryRates.Add(rowCount / await TimedCopyAsync(psql, server, dataSource, binaryFile, "binary", ct));
                Console.Error.WriteLine($"run {r + 1}: psql COPY binary           {copyBinaryRates[^1],12:N0} rows/s");
                copyCsvRates.Add(rowCount / await TimedCopyAsync(psql, server, dataSource, csvFile, "csv", ct));
                Console.Error.WriteLine($"run {r + 1}: psql COPY csv              {copyCsvRates[^1],12:N0} rows/s");
            }

            var result = new BenchResult(
                rowCount, batchSize, repeats, Median(writerRates), Median(rescoreRates), Median(copyBinaryRates), Median(copyCsvRates),
                Median(writerRates) / Median(copyBinaryRates), Median(writerRates) / Median(copyCsvRates),
                await ScalarAsync(dataSource, "SHOW server_version", ct), Machine.Describe(),
                "bulk writer, new keys: batches of --batch rows into the truncated sample_scores, each one transaction: consumer offset " +
                "lock, SAVEPOINT, binary COPY straight into sample_scores, consumer offset upsert, COMMIT (fsync and synchronous_commit " +
                "on). Stored keys: the same keys again with a later scored_at into the full table: the direct COPY meets a stored key " +
                "and rolls back to the savepoint, then binary COPY into a temp table and INSERT ... ON CONFLICT DO UPDATE. Documents are " +
                "stored before timing and the batches carry none. Reference: psql \\copy of the rows the writer stored into the same " +
                "(truncated) sample_scores, with the same indexes, in one transaction, binary and CSV; psql writes no offsets. " +
                "Medians of --repeat runs.");
            Print(result);
            if (jsonPath is not null)
                await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(result, new JsonSerializerOptions
                {
                    WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
                }), ct);
            if (markdownPath is not null) await File.WriteAllTextAsync(markdownPath, Markdown(result), ct);
            return 0;
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    private static (List<Document>, List<SampleScore>) Generate(int count)
    {
        var random = new Random(42);
        var documents = new List<Document>(count);
        var scores = new List<SampleScore>(count);
        var at = DateTimeOffset.UtcNow;
        for (var i = 0; i < count; i++)
        {
            var id = $"doc-{i:D9}";
            var text = $"benchmark document {i}";
            documents.Add(new Document(id, i % 5 == 0 ? "code" : "web", "bench", SHA256.HashData(Encoding.UTF8.GetBytes(text)), text.Length, text));
            var a = random.NextDouble();
            var b = random.NextDouble() * (1 - a);
            double[] gamma = [a, b, 1 - a - b];
            var label = (SampleLabel)Array.IndexOf(gamma, gamma.Max());
            var tokens = 256 + random.Next(4096);
            scores.Add(new SampleScore(id, "proxy-bench", tokens, tokens * 4L, 2 + random.NextDouble() * 6, random.NextDouble() * 4,
                gamma, label, gamma.Max(), null, Guid.Empty, at));
        }
        return (documents, scores);
    }

    /// <summary>One writer batch per chunk of rows, each with its own id, advancing partition 0 past its rows.</summary>
    private static List<ScoreBatch> Batches(List<SampleScore> scores, int batchSize, long firstOffset, TimeSpan later)
    {
        var offset = firstOffset;
        return scores.Chunk(batchSize).Select(chunk =>
        {
            offset += chunk.Length;
            var id = Guid.NewGuid();
            return new ScoreBatch(id, [], chunk.Select(s => s with { BatchId = id, ScoredAt = s.ScoredAt + later }).ToList(),
                [new ConsumerOffset("bench", "documents", 0, offset)]);
        }).ToList();
    }

    /// <summary>Writes the batches one after another; rows/s. Fails when a batch did not take the expected path, so the
    /// figure is for the path it is labelled with.</summary>
    private static async Task<double> TimedWritesAsync(ScoreBatchWriter writer, List<ScoreBatch> batches, int rowCount, RowWritePath expected, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        var paths = new List<RowWritePath>(batches.Count);
        foreach (var b in batches) paths.Add((await writer.WriteAsync(b, ct)).ScorePath);
        var seconds = watch.Elapsed.TotalSeconds;
        if (paths.Any(p => p != expected))
            throw new InvalidOperationException($"expected every batch to be {expected}, got {string.Join(", ", paths.Distinct())}");
        return rowCount / seconds;
    }

    private static async Task ResetAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using (var truncate = dataSource.CreateCommand("TRUNCATE sample_scores, consumer_offsets"))
            await truncate.ExecuteNonQueryAsync(ct);
        await CheckpointAsync(dataSource, ct);
    }

    // Start every timed run from the same point: no pending checkpoint work from the previous one.
    private static async Task CheckpointAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var checkpoint = dataSource.CreateCommand("CHECKPOINT");
        await checkpoint.ExecuteNonQueryAsync(ct);
    }

    private static async Task<double> TimedCopyAsync(string psql, EmbeddedPostgres server, NpgsqlDataSource dataSource, string file, string format, CancellationToken ct)
    {
        await ResetAsync(dataSource, ct);
        var watch = Stopwatch.StartNew();
        await PsqlAsync(psql, server, $"\\copy sample_scores FROM '{file}' WITH (FORMAT {format})", ct);
        return watch.Elapsed.TotalSeconds;
    }

    private static async Task PsqlAsync(string psql, EmbeddedPostgres server, string command, CancellationToken ct)
    {
        var info = new ProcessStartInfo(psql) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", server.SocketDirectory, "-p", server.Port.ToString(CultureInfo.InvariantCulture),
                                  "-U", "postgres", "-d", "reweight", "-c", command })
            info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {psql}");
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.StandardOutput.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        if (process.ExitCode != 0) throw new InvalidOperationException($"psql failed ({command}): {await stderr}");
    }

    private static async Task<string> ScalarAsync(NpgsqlDataSource dataSource, string sql, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(sql);
        return (string)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static void Print(BenchResult r)
    {
        Console.WriteLine($"rows {r.Rows:N0}, batches of {r.BatchRows:N0}, median of {r.Repeats} runs, PostgreSQL {r.PostgresVersion}");
        Console.WriteLine($"  bulk writer, new keys (COPY + offsets)          {r.WriterRowsPerSecond,12:N0} rows/s");
        Console.WriteLine($"  bulk writer, stored keys (staging + upsert)     {r.WriterStoredKeysRowsPerSecond,12:N0} rows/s");
        Console.WriteLine($"  psql COPY FROM STDIN, binary                    {r.CopyBinaryRowsPerSecond,12:N0} rows/s   new keys ÷ this {r.RatioToBinaryCopy:F2}");
        Console.WriteLine($"  psql COPY FROM STDIN, csv                       {r.CopyCsvRowsPerSecond,12:N0} rows/s   new keys ÷ this {r.RatioToCsvCopy:F2}");
    }

    private static string Markdown(BenchResult r) => $"""
        # Storage benchmark

        Score rows through the bulk writer with consumer offsets, next to psql's plain `\copy ... FROM` of the same rows
        into the same table, on a throwaway local PostgreSQL {r.PostgresVersion} cluster (fsync and synchronous commit on).
        Medians of {r.Repeats} runs.

        | path | rows/s | new keys ÷ this |
        |---|---:|---:|
        | bulk writer, new keys ({r.BatchRows:N0}-row batches, one transaction each, with offsets: direct COPY) | {r.WriterRowsPerSecond:N0} | 1.00 |
        | bulk writer, stored keys (same, keys already stored: staging COPY + upsert) | {r.WriterStoredKeysRowsPerSecond:N0} | |
        | psql `\copy` binary, one transaction | {r.CopyBinaryRowsPerSecond:N0} | {r.RatioToBinaryCopy:F2} |
        | psql `\copy` csv, one transaction | {r.CopyCsvRowsPerSecond:N0} | {r.RatioToCsvCopy:F2} |

        What each side writes: the writer, the score rows into `sample_scores` (documents are stored before timing; the
        batches carry none), and per batch a consumer-offset row lock and upsert and a COMMIT; psql, the same score rows
        (exported from the writer's run) into the same truncated `sample_scores`, with the same indexes, in one
        transaction, and no offsets.

        Rows: {r.Rows:N0}. Goal: at least 100,000 rows/s and a ratio of at least 0.7.

        Machine: {r.Machine.Cpus} CPUs ({r.Machine.CpuModel}), {r.Machine.MemoryGiB:F1} GiB RAM, {r.Machine.Os}.

        Command: `reweight bench storage --rows {r.Rows} --batch {r.BatchRows} --repeat {r.Repeats}` (what `bench/storage.bench.sh` runs).

        """;

    private sealed record BenchResult(
        int Rows, int BatchRows, int Repeats, double WriterRowsPerSecond, double WriterStoredKeysRowsPerSecond,
        double CopyBinaryRowsPerSecond, double CopyCsvRowsPerSecond,
        double RatioToBinaryCopy, double RatioToCsvCopy, string PostgresVersion, Machine Machine, string Method);

    private sealed record Machine(int Cpus, string CpuModel, double MemoryGiB, string Os)
    {
        public static Machine Describe()
        {
            var memKb = Bench.ProcInfo.Field("/proc/meminfo", "MemTotal").Split(' ')[0];
            return new Machine(Environment.ProcessorCount, Bench.ProcInfo.CpuModel(),
                double.TryParse(memKb, CultureInfo.InvariantCulture, out var kb) ? kb / 1024 / 1024 : 0,
                System.Runtime.InteropServices.RuntimeInformation.OSDescription);
        }
    }
}
