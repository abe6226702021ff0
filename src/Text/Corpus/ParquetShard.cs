using System.Globalization;
using System.Text;
using ParquetSharp;

namespace Reweighting.Text.Corpus;

/// <summary>Reads one Parquet shard's documents, a row group at a time and within it a batch of rows at a time, so
/// memory stays within one row group's columns whatever the shard's size.</summary>
/// <remarks>
/// The text, id and domain fields are top-level columns named by <see cref="CorpusReaderOptions"/>. Text may be a
/// string column or plain binary holding UTF-8; ids, domains and extra fields may be strings or 32/64-bit integers; a
/// missing or null id is
/// derived from the shard's relative name and the row number, counted from 0 as DuckDB's <c>file_row_number</c> and
/// Arrow do. A shard without the text column is reported and skipped whole; a row whose text is null, empty or not
/// UTF-8 is reported with its row number and skipped; a shard that cannot be decoded past some row is reported there.
/// </remarks>
internal sealed class ParquetShard(string file, string relative, CorpusReaderOptions options, Action<string, string> report)
{
    private const int BatchRows = 256;

    // Binary text that is not UTF-8 decodes to this exact instance, told apart from real text by reference.
    private static readonly string NotUtf8 = new('\uFFFD', 1);
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The shard's documents in row order; problems go to the reader's report callback.</summary>
    public IEnumerable<CorpusRecord> Read()
    {
        var reader = Open();
        if (reader is null) yield break;
        using (reader)
        {
            var schema = reader.FileMetaData.Schema;
            var text = FindColumn(schema, options.TextField);
            if (text is null)
            {
                report(file, $"no \"{options.TextField}\" column (columns: {ColumnNames(schema)}); the shard is skipped");
                yield break;
            }
            if (!IsByteArray(schema, text.Value))
            {
                var type = Describe(schema.Column(text.Value));
                report(file, $"column \"{options.TextField}\" is {type}, not a string; the shard is skipped");
                yield break;
            }
            // Optional columns in a fixed order: id, domain, then the extra fields; null where the shard lacks one.
            var optional = new[] { options.IdField, options.DomainField }.Concat(options.ExtraFields ?? [])
                .Select(field => OptionalColumn(schema, field)).ToArray();

            var groups = reader.FileMetaData.NumRowGroups;
            long row = 0;
            var texts = new string?[BatchRows];
            var values = optional.Select(_ => new string?[BatchRows]).ToArray();
            for (var g = 0; g < groups; g++)
            {
                foreach (var count in ReadRowGroup(reader, g, text.Value, optional, row, texts, values))
                {
                    if (count < 0) yield break; // reported: the rest of the shard cannot be decoded
                    for (var i = 0; i < count; i++, row++)
                    {
                        if (ToRecord(row, texts[i], optional, values, i) is { } record) yield return record;
                    }
                }
            }
        }
    }

    private CorpusRecord? ToRecord(long row, string? text, int?[] optional, string?[][] values, int i)
    {
        var where = $"{file} row {row}";
        if (text is null) { report(where, $"\"{options.TextField}\" is null"); return null; }
        if (ReferenceEquals(text, NotUtf8)) { report(where, $"\"{options.TextField}\" is not valid UTF-8"); return null; }
        if (string.IsNullOrWhiteSpace(text)) { report(where, $"\"{options.TextField}\" is empty"); return null; }
        string? Value(int k) => optional[k] is null || ReferenceEquals(values[k][i], NotUtf8) ? null : values[k][i];
        var id = Value(0);
        var domain = Value(1);
        Dictionary<string, string>? fields = null;
        for (var k = 2; k < optional.Length; k++)
        {
            if (Value(k) is { } value) (fields ??= new())[options.ExtraFields![k - 2]] = value;
        }
        return new CorpusRecord(id is { Length: > 0 } ? id : $"{relative}:{row}", text, domain is { Length: > 0 } ? domain : null,
            $"{file}:{row}") { Fields = fields };
    }

    /// <summary>Yields the row counts of successive batches of one row group, having filled the arrays; -1 after a
    /// decoding failure it has reported. Iterators cannot yield inside try/catch, hence this shape.</summary>
    private IEnumerable<int> ReadRowGroup(ParquetFileReader reader, int group, int text, int?[] optional, long firstRow,
        string?[] texts, string?[][] values)
    {
        RowGroupReader? rowGroup = null;
        ColumnCursor? textCursor = null;
        var cursors = new ColumnCursor?[optional.Length];
        try
        {
            long rows;
            try
            {
                rowGroup = reader.RowGroup(group);
                rows = rowGroup.MetaData.NumRows;
                textCursor = ColumnCursor.Open(rowGroup, text, options.TextField);
                for (var k = 0; k < optional.Length; k++)
                    cursors[k] = optional[k] is { } index ? ColumnCursor.Open(rowGroup, index, $"column {index}") : null;
            }
            catch (Exception e) when (e is ParquetException or IOException or InvalidDataException)
            {
                report($"{file} row {firstRow}", $"cannot read row group {group}: {e.Message}; the rest of the shard is skipped");
                yield break;
            }
            for (long done = 0; done < rows;)
            {
                var count = (int)Math.Min(BatchRows, rows - done);
                var ok = true;
                try
                {
                    textCursor!.Read(count, texts);
                    for (var k = 0; k < cursors.Length; k++) cursors[k]?.Read(count, values[k]);
                }
                catch (Exception e) when (e is ParquetException or IOException or InvalidDataException)
                {
                    report($"{file} row {firstRow + done}",
                        $"cannot decode rows from here (corrupt or truncated shard?): {e.Message}; the rest of the shard is skipped");
                    ok = false;
                }
                if (!ok) { yield return -1; yield break; }
                done += count;
                yield return count;
            }
        }
        finally
        {
            textCursor?.Dispose();
            foreach (var cursor in cursors) cursor?.Dispose();
            rowGroup?.Dispose();
        }
    }

    private ParquetFileReader? Open()
    {
        try
        {
            return new ParquetFileReader(file);
        }
        catch (Exception e) when (e is ParquetException or IOException or UnauthorizedAccessException)
        {
            report(file, $"cannot open as Parquet (truncated or not a Parquet file?): {e.Message}");
            return null;
        }
    }

    private int? OptionalColumn(SchemaDescriptor schema, string field)
    {
        if (string.IsNullOrEmpty(field) || FindColumn(schema, field) is not { } index) return null;
        var column = schema.Column(index);
        if (IsByteArray(schema, index) || column.PhysicalType is PhysicalType.Int32 or PhysicalType.Int64) return index;
        report(file, $"column \"{field}\" is {Describe(column)}, which is not supported for it; it is ignored");
        return null;
    }

    private static int? FindColumn(SchemaDescriptor schema, string field)
    {
        for (var i = 0; i < schema.NumColumns; i++)
        {
            var column = schema.Column(i);
            if (column.MaxRepetitionLevel == 0 && column.Path.ToDotString() == field) return i;
        }
        return null;
    }

    private static bool IsByteArray(SchemaDescriptor schema, int index)
    {
        var column = schema.Column(index);
        return column.PhysicalType == PhysicalType.ByteArray && column.MaxRepetitionLevel == 0;
    }

    private static string ColumnNames(SchemaDescriptor schema) =>
        string.Join(", ", Enumerable.Range(0, schema.NumColumns).Select(i =>
        {
            var column = schema.Column(i);
            return column.Path.ToDotString();
        }));

    private static string Describe(ColumnDescriptor column) =>
        column.MaxRepetitionLevel > 0 ? "a repeated (list) column" : $"of type {column.PhysicalType} ({column.LogicalType})";

    /// <summary>Reads one column of a row group as strings, whatever its supported physical type.</summary>
    private abstract class ColumnCursor : IDisposable
    {
        public abstract void Read(int count, string?[] into);

        public abstract void Dispose();

        public static ColumnCursor Open(RowGroupReader rowGroup, int index, string field)
        {
            var reader = rowGroup.Column(index);
            var descriptor = reader.ColumnDescriptor;
            var optional = descriptor.MaxDefinitionLevel > 0;
            return descriptor.PhysicalType switch
            {
                PhysicalType.ByteArray when descriptor.LogicalType is StringLogicalType =>
                    new Cursor<string>(reader, reader.LogicalReader<string>(), s => s),
                PhysicalType.ByteArray => new Cursor<byte[]>(reader, reader.LogicalReader<byte[]>(), DecodeUtf8),
                PhysicalType.Int64 when optional =>
                    new Cursor<long?>(reader, reader.LogicalReader<long?>(), v => v?.ToString(CultureInfo.InvariantCulture)),
                PhysicalType.Int64 => new Cursor<long>(reader, reader.LogicalReader<long>(), v => v.ToString(CultureInfo.InvariantCulture)),
                PhysicalType.Int32 when optional =>
                    new Cursor<int?>(reader, reader.LogicalReader<int?>(), v => v?.ToString(CultureInfo.InvariantCulture)),
                PhysicalType.Int32 => new Cursor<int>(reader, reader.LogicalReader<int>(), v => v.ToString(CultureInfo.InvariantCulture)),
                _ => throw new InvalidDataException($"column \"{field}\" has unsupported type {descriptor.PhysicalType}"),
            };
        }

        private static string? DecodeUtf8(byte[]? bytes)
        {
            if (bytes is null) return null;
            try { return StrictUtf8.GetString(bytes); }
            catch (DecoderFallbackException) { return NotUtf8; }
        }
    }

    private sealed class Cursor<T>(ColumnReader column, LogicalColumnReader<T> reader, Func<T, string?> convert) : ColumnCursor
    {
        private readonly T[] _buffer = new T[BatchRows];

        public override void Read(int count, string?[] into)
        {
            for (var got = 0; got < count;)
            {
                var n = reader.ReadBatch(_buffer.AsSpan(got, count - got));
                if (n == 0) throw new InvalidDataException("a column holds fewer values than its row group's row count");
                got += n;
            }
            for (var i = 0; i < count; i++) into[i] = convert(_buffer[i]);
        }

        public override void Dispose()
        {
            reader.Dispose();
            column.Dispose();
        }
    }
}
