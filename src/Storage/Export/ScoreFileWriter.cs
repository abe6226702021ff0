using System.Text.Encodings.Web;
using System.Text.Json;
using ParquetSharp;

namespace Reweighting.Storage.Export;

/// <summary>The file formats of an export.</summary>
public enum ScoreExportFormat
{
    /// <summary>Parquet (zstd), a row group per <see cref="ScoreExportOptions.RowGroupRows"/> rows.</summary>
    Parquet,

    /// <summary>JSON lines, one flat object per document.</summary>
    Jsonl,
}

/// <summary>Writes one attribute file of an export; the file appears under its final name only once complete.</summary>
internal abstract class ScoreFileWriter : IDisposable
{
    private readonly string _target;
    private bool _completed;

    protected ScoreFileWriter(string target)
    {
        _target = target;
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        TempPath = target + ".partial";
    }

    /// <summary>Where the file is written until <see cref="Complete"/> renames it.</summary>
    protected string TempPath { get; }

    public static ScoreFileWriter Create(ScoreExportFormat format, string target, int rowGroupRows) => format switch
    {
        ScoreExportFormat.Parquet => new ParquetScoreWriter(target, rowGroupRows),
        _ => new JsonlScoreWriter(target),
    };

    public abstract void Write(ExportedScore score);

    /// <summary>Flushes, closes and moves the file to its final name.</summary>
    public void Complete()
    {
        Close();
        File.Move(TempPath, _target, overwrite: true);
        _completed = true;
    }

    protected abstract void Close();

    public void Dispose()
    {
        if (_completed) return;
        try { Close(); } catch (IOException) { }
        File.Delete(TempPath);
    }
}

/// <summary>JSON lines with the column names of the Parquet form.</summary>
internal sealed class JsonlScoreWriter : ScoreFileWriter
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly FileStream _file;
    private readonly Utf8JsonWriter _json;
    private bool _closed;

    public JsonlScoreWriter(string target) : base(target)
    {
        _file = new FileStream(TempPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        _json = new Utf8JsonWriter(_file, Options);
    }

    public override void Write(ExportedScore s)
    {
        _json.WriteStartObject();
        _json.WriteString("id", s.Id);
        Nullable("source_file", s.SourceFile);
        if (s.SourceRow is { } row) _json.WriteNumber("source_row", row); else _json.WriteNull("source_row");
        Nullable("domain", s.Domain);
        _json.WriteString("label", s.Label);
        _json.WriteNumber("label_confidence", s.LabelConfidence);
        _json.WriteNumber("loss_mean", s.LossMean);
        _json.WriteNumber("loss_variance", s.LossVariance);
        _json.WriteNumber("n_tokens", s.TokenCount);
        if (s.ScoredBytes is { } bytes) _json.WriteNumber("scored_bytes", bytes); else _json.WriteNull("scored_bytes");
        if (s.LossPerByte is { } perByte) _json.WriteNumber("loss_per_byte", perByte); else _json.WriteNull("loss_per_byte");
        if (s.GmmVersion is { } version) _json.WriteNumber("gmm_version", version); else _json.WriteNull("gmm_version");
        _json.WriteString("scorer_model", s.ScorerModel);
        _json.WriteString("scored_at", s.ScoredAt.UtcDateTime);
        if (s.CompressionRatio is { } ratio) _json.WriteNumber("compression_ratio", ratio); else _json.WriteNull("compression_ratio");
        if (s.OrderGain is { } gain) _json.WriteNumber("order_gain", gain); else _json.WriteNull("order_gain");
        _json.WriteEndObject();
        _json.Flush();
        _file.WriteByte((byte)'\n');
        _json.Reset();
    }

    private void Nullable(string name, string? value)
    {
        if (value is null) _json.WriteNull(name); else _json.WriteString(name, value);
    }

    protected override void Close()
    {
        if (_closed) return;
        _closed = true;
        _json.Dispose();
        _file.Flush(flushToDisk: true);
        _file.Dispose();
    }
}

/// <summary>Parquet through ParquetSharp, buffering one row group of columns at a time.</summary>
internal sealed class ParquetScoreWriter : ScoreFileWriter
{
    private static readonly Column[] Schema =
    [
        new Column<string>("id"), new Column<string>("source_file"), new Column<long?>("source_row"), new Column<string>("domain"),
        new Column<string>("label"), new Column<double>("label_confidence"), new Column<double>("loss_mean"),
        new Column<double>("loss_variance"), new Column<long>("n_tokens"), new Column<long?>("scored_bytes"),
        new Column<double?>("loss_per_byte"), new Column<int?>("gmm_version"), new Column<string>("scorer_model"),
        new Column<DateTime>("scored_at"), new Column<double?>("compression_ratio"), new Column<double?>("order_gain"),
    ];

    private readonly ParquetFileWriter _writer;
    private readonly List<ExportedScore> _pending;
    private readonly int _rowGroupRows;
    private bool _closed;

    public ParquetScoreWriter(string target, int rowGroupRows) : base(target)
    {
        _rowGroupRows = rowGroupRows;
        _pending = new List<ExportedScore>(Math.Min(rowGroupRows, 1 << 16));
        using var properties = new WriterPropertiesBuilder().Compression(Compression.Zstd).Build();
        _writer = new ParquetFileWriter(TempPath, Schema, properties);
    }

    public override void Write(ExportedScore score)
    {
        _pending.Add(score);
        if (_pending.Count >= _rowGroupRows) Flush();
    }

    private void Flush()
    {
        if (_pending.Count == 0) return;
        using var rowGroup = _writer.AppendRowGroup();
        Column(rowGroup, s => s.Id);
        Column(rowGroup, s => s.SourceFile);
        Column(rowGroup, s => s.SourceRow);
        Column(rowGroup, s => s.Domain);
        Column(rowGroup, s => s.Label);
        Column(rowGroup, s => s.LabelConfidence);
        Column(rowGroup, s => s.LossMean);
        Column(rowGroup, s => s.LossVariance);
        Column(rowGroup, s => s.TokenCount);
        Column(rowGroup, s => s.ScoredBytes);
        Column(rowGroup, s => s.LossPerByte);
        Column(rowGroup, s => s.GmmVersion);
        Column(rowGroup, s => s.ScorerModel);
        Column(rowGroup, s => s.ScoredAt.UtcDateTime);
        Column(rowGroup, s => s.CompressionRatio);
        Column(rowGroup, s => s.OrderGain);
        _pending.Clear();
    }

    private void Column<T>(RowGroupWriter rowGroup, Func<ExportedScore, T> value)
    {
        using var column = rowGroup.NextColumn().LogicalWriter<T>();
        column.WriteBatch(_pending.Select(value).ToArray());
    }

    protected override void Close()
    {
        if (_closed) return;
        _closed = true;
        Flush();
        _writer.Close();
        _writer.Dispose();
    }
}
