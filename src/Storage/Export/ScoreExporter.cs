using System.Data;
using Npgsql;
using NpgsqlTypes;
using Reweighting.Contracts;

namespace Reweighting.Storage.Export;

/// <summary>What to export and where.</summary>
/// <param name="OutputDirectory">Directory the attribute files are written into (created when missing).</param>
/// <param name="Format">Parquet or JSON lines.</param>
/// <param name="Labels">Only documents whose latest label is one of these (null or empty: every label).</param>
/// <param name="Where">A SQL condition over the columns of the <c>labelled_documents</c> view, run in a read-only
/// transaction (e.g. <c>loss_mean &gt; 4 AND domain = 'web'</c>).</param>
/// <param name="RowGroupRows">Rows per Parquet row group, which bounds the memory an export holds.</param>
public sealed record ScoreExportOptions(
    string OutputDirectory, ScoreExportFormat Format, IReadOnlyList<SampleLabel>? Labels = null, string? Where = null,
    int RowGroupRows = 100_000);

/// <summary>One attribute file an export wrote: the corpus shard it mirrors and how many documents it holds.</summary>
public sealed record ExportedShard(string? SourceFile, string File, long Rows);

/// <summary>Exports the latest score and label of every (filtered) document, one attribute file per corpus shard in the
/// manner of Dolma's attribute files: each file is named after the shard its documents came from, relative to the
/// shards' common directory, and lists them in the shard's order, so a table engine (DuckDB, Spark) joins scores to the
/// corpus by id, or by file and row, without the corpus being copied.</summary>
/// <remarks>Both passes (counting the shards, then streaming the rows) read one snapshot, in a repeatable-read read-only
/// transaction, so a scorer writing meanwhile changes nothing and a <c>--where</c> cannot modify the database. Memory
/// stays within one row group.</remarks>
public sealed class ScoreExporter(NpgsqlDataSource dataSource)
{
    /// <summary>Name of the file for documents whose source names no shard.</summary>
    public const string UnsourcedName = "unsourced";

    private static readonly string[] CorpusExtensions =
        [".jsonl.gz", ".jsonl.zst", ".ndjson.gz", ".ndjson.zst", ".json.gz", ".json.zst", ".txt.gz", ".txt.zst", ".jsonl", ".ndjson",
         ".parquet", ".txt", ".text"];

    /// <summary>Writes the files and returns them in order; <paramref name="progress"/> hears (rows written, rows in all).</summary>
    /// <exception cref="ArgumentException">The --where condition is not valid SQL over the view's columns.</exception>
    public async Task<IReadOnlyList<ExportedShard>> ExportAsync(ScoreExportOptions options, Action<long, long>? progress = null,
        CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.RowGroupRows);
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
        await using (var readOnly = new NpgsqlCommand("SET TRANSACTION READ ONLY", connection, transaction))
            await readOnly.ExecuteNonQueryAsync(ct);

        var shards = await CountShardsAsync(connection, transaction, options, ct);
        var names = FileNames(shards.Select(s => s.Shard).ToList(), options.Format);
        var total = shards.Sum(s => s.Rows);
        var written = new List<ExportedShard>();
        long done = 0;
        ScoreFileWriter? writer = null;
        string? current = null;
        long inFile = 0;
        try
        {
            await using var command = Filtered(connection, transaction, options, $"""
                SELECT document_id, shard, source_row, domain, label::text, label_confidence, loss_mean, loss_variance, n_tokens,
                       scored_bytes, loss_per_byte, gmm_version, scorer_model, scored_at, compression_ratio, order_gain
                FROM filtered ORDER BY shard NULLS LAST, source_row NULLS LAST, document_id
                """);
            await using var reader = await ExecuteAsync(command, options, ct);
            var first = true;
            while (await reader.ReadAsync(ct))
            {
                var score = Read(reader);
                if (first || score.SourceFile != current)
                {
                    if (writer is not null) Finish(writer, current, names, written, inFile);
                    writer = ScoreFileWriter.Create(options.Format, Path.Combine(options.OutputDirectory, names[score.SourceFile ?? ""]),
                        options.RowGroupRows);
                    current = score.SourceFile;
                    inFile = 0;
                    first = false;
                }
                writer!.Write(score);
                inFile++;
                if (++done % 10_000 == 0) progress?.Invoke(done, total);
            }
            if (writer is not null) Finish(writer, current, names, written, inFile);
            writer = null;
        }
        finally
        {
            writer?.Dispose();
        }
        progress?.Invoke(done, total);
        return written;
    }

    private static void Finish(ScoreFileWriter writer, string? shard, Dictionary<string, string> names, List<ExportedShard> written,
        long rows)
    {
        writer.Complete();
        writer.Dispose();
        written.Add(new ExportedShard(shard, names[shard ?? ""], rows));
    }

    private static async Task<List<(string? Shard, long Rows)>> CountShardsAsync(NpgsqlConnection connection,
        NpgsqlTransaction transaction, ScoreExportOptions options, CancellationToken ct)
    {
        await using var command = Filtered(connection, transaction, options,
            "SELECT shard, count(*) FROM filtered GROUP BY shard ORDER BY shard NULLS LAST");
        await using var reader = await ExecuteAsync(command, options, ct);
        var shards = new List<(string?, long)>();
        while (await reader.ReadAsync(ct)) shards.Add((reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetInt64(1)));
        return shards;
    }

    /// <summary>The view filtered by label and the user's condition, with each source split into shard and row: a
    /// "file:N" source is row N of file; any other source is a shard of its own.</summary>
    private static NpgsqlCommand Filtered(NpgsqlConnection connection, NpgsqlTransaction transaction, ScoreExportOptions options,
        string select)
    {
        var where = string.IsNullOrWhiteSpace(options.Where) ? "TRUE" : $"({options.Where})";
        var command = new NpgsqlCommand($"""
            WITH filtered AS (
                SELECT d.*,
                       CASE WHEN d.source ~ ':[0-9]+$' THEN substring(d.source from '^(.*):[0-9]+$') ELSE d.source END AS shard,
                       CASE WHEN d.source ~ ':[0-9]+$' THEN substring(d.source from ':([0-9]+)$')::bigint END AS source_row
                FROM (SELECT * FROM labelled_documents WHERE {where}) d
                WHERE $1::text[] IS NULL OR d.label::text = ANY($1::text[])
            )
            {select}
            """, connection, transaction);
        var labels = options.Labels is { Count: > 0 } l ? l.Select(x => x.ToWire()).ToArray() : null;
        command.Parameters.Add(new NpgsqlParameter
        {
            Value = (object?)labels ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text,
        });
        return command;
    }

    private static async Task<NpgsqlDataReader> ExecuteAsync(NpgsqlCommand command, ScoreExportOptions options, CancellationToken ct)
    {
        try
        {
            return await command.ExecuteReaderAsync(ct);
        }
        catch (PostgresException e) when (options.Where is not null && (e.SqlState.StartsWith("42", StringComparison.Ordinal) ||
                                                                         e.SqlState.StartsWith("22", StringComparison.Ordinal) ||
                                                                         e.SqlState == PostgresErrorCodes.ReadOnlySqlTransaction))
        {
            throw new ArgumentException(
                $"--where {options.Where}: {e.MessageText} (it is a condition over the columns of labelled_documents)", e);
        }
    }

    private static ExportedScore Read(NpgsqlDataReader r) => new(
        r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.IsDBNull(2) ? null : r.GetInt64(2), r.IsDBNull(3) ? null : r.GetString(3),
        r.GetString(4), r.GetDouble(5), r.GetDouble(6), r.GetDouble(7),
        Convert.ToInt64(r.GetValue(8), System.Globalization.CultureInfo.InvariantCulture),
        r.IsDBNull(9) ? null : r.GetInt64(9), r.IsDBNull(10) ? null : r.GetDouble(10), r.IsDBNull(11) ? null : r.GetInt32(11),
        r.GetString(12), r.GetFieldValue<DateTimeOffset>(13), r.IsDBNull(14) ? null : r.GetDouble(14),
        r.IsDBNull(15) ? null : r.GetDouble(15));

    /// <summary>Each shard's file name: its path relative to the shards' common directory, its corpus extension replaced
    /// by the export's, unsafe characters replaced; names made unique. The key "" stands for documents without a source.</summary>
    internal static Dictionary<string, string> FileNames(IReadOnlyList<string?> shards, ScoreExportFormat format)
    {
        var extension = format == ScoreExportFormat.Parquet ? ".parquet" : ".jsonl";
        var paths = shards.OfType<string>().Select(s => s.Replace('\\', '/').Split('/')).ToList();
        var common = paths.Count == 0 ? 0 : paths.Select(p => p.Length - 1).Min();
        for (var i = 0; i < common; i++)
        {
            if (paths.Any(p => p[i] != paths[0][i])) { common = i; break; }
        }
        var names = new Dictionary<string, string>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var shard in shards)
        {
            var segments = shard is null ? [UnsourcedName] : shard.Replace('\\', '/').Split('/').Skip(common)
                .Where(s => s is not ("" or "." or "..")).Select(Safe).ToArray();
            var stem = string.Join('/', segments.Length == 0 ? [UnsourcedName] : segments);
            var known = CorpusExtensions.FirstOrDefault(e => stem.EndsWith(e, StringComparison.OrdinalIgnoreCase));
            if (known is not null) stem = stem[..^known.Length];
            var name = stem + extension;
            for (var n = 2; !used.Add(name); n++) name = $"{stem}-{n}{extension}";
            names[shard ?? ""] = name;
        }
        return names;
    }

    private static string Safe(string segment) =>
        string.Concat(segment.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '=' ? c : '_'));
}
