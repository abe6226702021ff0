using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using ParquetSharp;
using Encoding = System.Text.Encoding;
using Reweighting.Text.Corpus;

// corpus-read-bench generate DIR MEGABYTES ROWS_PER_GROUP | read FILE product|parquet.net
// Each read runs in a process of its own, so its peak resident memory is its own.
return args switch
{
    ["generate", var dir, var mb, var rowsPerGroup] => Generate(dir, double.Parse(mb), int.Parse(rowsPerGroup)),
    ["read", var file, var library] => Read(file, library),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: corpus-read-bench generate DIR MEGABYTES ROWS_PER_GROUP | read FILE product|parquet.net");
    return 2;
}

// The same documents in every format: synthetic English-like text cut into documents of 0.5 to 8 kB.
static int Generate(string dir, double megabytes, int rowsPerGroup)
{
    Directory.CreateDirectory(dir);
    var text = SyntheticEnglish.Generate((int)(megabytes * 1_000_000), seed: 5);
    var random = new Random(5);
    var documents = new List<string>();
    for (var at = 0; at < text.Length;)
    {
        var length = Math.Min(text.Length - at, random.Next(500, 8000));
        documents.Add(text.Substring(at, length));
        at += length;
    }
    var lines = documents
        .Select((d, i) => JsonSerializer.Serialize(new { id = $"doc-{i}", text = d, domain = $"d{i % 4}" }) + "\n").ToList();
    File.WriteAllText(Path.Combine(dir, "docs.jsonl"), string.Concat(lines));
    using (var gz = new GZipStream(File.Create(Path.Combine(dir, "docs.jsonl.gz")), CompressionLevel.Optimal))
        foreach (var line in lines) gz.Write(Encoding.UTF8.GetBytes(line));
    using (var zst = new ZstdSharp.CompressionStream(File.Create(Path.Combine(dir, "docs.jsonl.zst")), 3))
        foreach (var line in lines) zst.Write(Encoding.UTF8.GetBytes(line));
    // Row groups of the size asked for, and one tenth of it: the memory a read holds follows the row group, not the file.
    (string Name, Compression Codec, int Rows)[] parquetFiles =
    [
        ("docs.snappy.parquet", Compression.Snappy, rowsPerGroup), ("docs.zstd.parquet", Compression.Zstd, rowsPerGroup),
        ("docs.zstd.small-groups.parquet", Compression.Zstd, Math.Max(1, rowsPerGroup / 10)),
    ];
    foreach (var (name, codec, groupRows) in parquetFiles)
    {
        // Arrow's writer, as pyarrow and the Hugging Face datasets library use it.
        using var writer = new ParquetFileWriter(Path.Combine(dir, name),
            [new Column<string>("id"), new Column<string>("text"), new Column<string>("domain")], codec);
        for (var start = 0; start < documents.Count; start += groupRows)
        {
            var n = Math.Min(groupRows, documents.Count - start);
            using var group = writer.AppendRowGroup();
            string[][] columns =
            [
                Enumerable.Range(start, n).Select(i => $"doc-{i}").ToArray(), documents.GetRange(start, n).ToArray(),
                Enumerable.Range(start, n).Select(i => $"d{i % 4}").ToArray(),
            ];
            foreach (var values in columns)
            {
                using var column = group.NextColumn().LogicalWriter<string>();
                column.WriteBatch(values);
            }
        }
        writer.Close();
    }
    Console.Error.WriteLine($"{documents.Count} documents, {Encoding.UTF8.GetByteCount(text) / 1e6:F1} MB of text, in {dir}");
    return 0;
}

static int Read(string file, string library)
{
    var clock = Stopwatch.StartNew();
    long documents = 0, bytes = 0;
    if (library == "product")
    {
        var reader = new CorpusReader();
        foreach (var record in reader.Read(file))
        {
            documents++;
            bytes += Encoding.UTF8.GetByteCount(record.Text);
        }
        if (reader.ProblemCount > 0) throw new InvalidDataException($"{reader.ProblemCount} problems reading {file}");
    }
    else if (library == "parquet.net")
    {
        // The reference: Parquet.Net reading the same three columns a row group at a time, the unit the product reads.
        var parquet = Parquet.ParquetReader.CreateAsync(file).GetAwaiter().GetResult();
        var fields = new[] { "id", "text", "domain" }.Select(n => parquet.Schema.DataFields.Single(f => f.Name == n)).ToArray();
        for (var g = 0; g < parquet.RowGroupCount; g++)
        {
            var group = parquet.OpenRowGroupReader(g);
            var columns = fields.Select(_ => new string?[group.RowCount]).ToArray();
            for (var c = 0; c < fields.Length; c++)
                group.ReadAsync(fields[c], columns[c].AsMemory(), null).AsTask().GetAwaiter().GetResult();
            foreach (var t in columns[1])
            {
                documents++;
                bytes += Encoding.UTF8.GetByteCount(t!);
            }
        }
        parquet.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
    else return Usage();
    var seconds = clock.Elapsed.TotalSeconds;
    using var self = Process.GetCurrentProcess();
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        file = Path.GetFileName(file), library, documents, text_mb = Math.Round(bytes / 1e6, 2),
        file_mb = Math.Round(new FileInfo(file).Length / 1e6, 2), seconds = Math.Round(seconds, 3),
        text_mb_per_s = Math.Round(bytes / 1e6 / seconds, 1), peak_rss_mb = Math.Round(self.PeakWorkingSet64 / 1e6, 0),
    }));
    return 0;
}
