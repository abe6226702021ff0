using Parquet;
using Parquet.Schema;

namespace Reweighting.Text.Tests.Corpus;

/// <summary>Writes Parquet fixtures with Parquet.Net, a managed implementation independent of the product's reader
/// (ParquetSharp over Arrow C++), so a test reading them back checks the reader against another writer.</summary>
internal static class ParquetFixture
{
    /// <summary>One row group is one array per field, in schema order: string?[], byte[]?[], long?[], long[] or int[].</summary>
    public static async Task WriteAsync(string path, DataField[] fields, IEnumerable<Array[]> rowGroups,
        CompressionMethod compression = CompressionMethod.Snappy)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var stream = File.Create(path);
        var options = new ParquetOptions { CompressionMethod = compression };
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream, options);
        foreach (var group in rowGroups)
        {
            using var rowGroup = writer.CreateRowGroup();
            for (var i = 0; i < fields.Length; i++)
            {
                var task = group[i] switch
                {
                    string?[] strings => rowGroup.WriteAsync(fields[i], strings!),
                    byte[]?[] bytes => rowGroup.WriteAsync(fields[i], bytes!),
                    long?[] longs => rowGroup.WriteAsync<long>(fields[i], new ReadOnlyMemory<long?>(longs)),
                    long[] longs => rowGroup.WriteAsync<long>(fields[i], new ReadOnlyMemory<long>(longs)),
                    int[] ints => rowGroup.WriteAsync<int>(fields[i], new ReadOnlyMemory<int>(ints)),
                    var other => throw new ArgumentException($"no fixture writer for {other.GetType()}"),
                };
                await task;
            }
        }
    }

    public static DataField Text(string name, bool nullable = true) => new DataField<string>(name, nullable);
}
