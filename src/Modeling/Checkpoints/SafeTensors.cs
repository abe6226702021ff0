using Reweighting.Text.IO;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Reweighting.Torch;

namespace Reweighting.Modeling.Checkpoints;

/// <summary>The safetensors format: an 8-byte little-endian header length, a JSON header mapping each name to
/// {dtype, shape, data_offsets}, then the raw little-endian tensor bytes.</summary>
public static class SafeTensors
{
    private static readonly Dictionary<ScalarType, string> Codes = new()
    {
        [ScalarType.Float32] = "F32", [ScalarType.Float64] = "F64", [ScalarType.BFloat16] = "BF16", [ScalarType.Float16] = "F16",
        [ScalarType.Int64] = "I64", [ScalarType.Int32] = "I32", [ScalarType.Bool] = "BOOL", [ScalarType.UInt8] = "U8",
    };

    private static readonly Dictionary<string, ScalarType> ByCode = Codes.ToDictionary(kv => kv.Value, kv => kv.Key);

    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    /// <summary>Writes <paramref name="tensors"/> (sorted by name) and optional string metadata atomically to <paramref name="path"/>.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        var names = tensors.Keys.OrderBy(n => n, StringComparer.Ordinal).ToList();
        long offset = 0;
        foreach (var name in names)
        {
            var t = tensors[name];
            var bytes = t.NumberOfElements * t.DType.ElementSize();
            header[name] = new JsonObject
            {
                ["dtype"] = Codes[t.DType],
                ["shape"] = new JsonArray(t.Shape.Select(s => (JsonNode)s).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        var padded = (json.Length + 7) / 8 * 8;
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
            stream.Write(length);
            stream.Write(json);
            for (var i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            var buffer = Array.Empty<byte>();
            foreach (var name in names)
            {
                var t = tensors[name];
                var n = (int)(t.NumberOfElements * t.DType.ElementSize());
                if (buffer.Length < n) buffer = new byte[n];
                t.CopyBytesTo(buffer.AsSpan(0, n));
                stream.Write(buffer, 0, n);
            }
        });
    }

    /// <summary>Reads every tensor of a safetensors file onto <paramref name="device"/>. Malformed, truncated or
    /// inconsistent files fail with an <see cref="InvalidDataException"/> naming the problem.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path, Device? device = null)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var fileLength = stream.Length;
        if (fileLength < 8) throw Corrupt(path, $"file has {fileLength} bytes, fewer than the 8-byte header length");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)Math.Min(MaxHeaderBytes, fileLength - 8))
            throw Corrupt(path, $"header length {headerLength} exceeds the file ({fileLength} bytes)");
        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        JsonObject header;
        try
        {
            header = JsonNode.Parse(headerBytes) as JsonObject ?? throw Corrupt(path, "header is not a JSON object");
        }
        catch (JsonException e)
        {
            throw Corrupt(path, $"header is not valid JSON ({e.Message})");
        }
        var dataStart = 8 + (long)headerLength;
        var dataLength = fileLength - dataStart;
        var metadata = new Dictionary<string, string>();
        var entries = new List<(string Name, ScalarType DType, long[] Shape, long Begin, long End)>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                if (node is JsonObject meta)
                    foreach (var (k, v) in meta) metadata[k] = v?.GetValue<string>() ?? "";
                continue;
            }
            entries.Add(ParseEntry(path, name, node));
        }
        var result = new Dictionary<string, Tensor>();
        try
        {
            foreach (var e in entries.OrderBy(e => e.Begin))
            {
                if (e.End > dataLength)
                    throw Corrupt(path, $"tensor '{e.Name}' ends at byte {e.End} of the data but the file holds {dataLength} (truncated?)");
                var bytes = new byte[e.End - e.Begin];
                stream.Seek(dataStart + e.Begin, SeekOrigin.Begin);
                stream.ReadExactly(bytes);
                result[e.Name] = Torch.Torch.FromBytes(bytes, e.DType, e.Shape, device).DetachFromScope();
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return (result, metadata);
    }

    private static (string, ScalarType, long[], long, long) ParseEntry(string path, string name, JsonNode? node)
    {
        try
        {
            var o = node as JsonObject ?? throw Corrupt(path, $"entry '{name}' is not an object");
            var code = o["dtype"]?.GetValue<string>() ?? throw Corrupt(path, $"entry '{name}' has no dtype");
            if (!ByCode.TryGetValue(code, out var dtype)) throw Corrupt(path, $"entry '{name}' has unsupported dtype {code}");
            var shape = (o["shape"] as JsonArray ?? throw Corrupt(path, $"entry '{name}' has no shape")).Select(s => s!.GetValue<long>()).ToArray();
            var offsets = o["data_offsets"] as JsonArray ?? throw Corrupt(path, $"entry '{name}' has no data_offsets");
            if (offsets.Count != 2) throw Corrupt(path, $"entry '{name}' data_offsets must have two numbers");
            long begin = offsets[0]!.GetValue<long>(), end = offsets[1]!.GetValue<long>();
            var expected = shape.Aggregate(1L, (a, b) => a * b) * dtype.ElementSize();
            if (shape.Any(s => s < 0) || begin < 0 || end - begin != expected)
                throw Corrupt(path, $"entry '{name}' spans {end - begin} bytes but {code}{string.Join("x", shape)} needs {expected}");
            return (name, dtype, shape, begin, end);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw Corrupt(path, $"entry '{name}' is malformed ({e.Message})");
        }
    }

    private static InvalidDataException Corrupt(string path, string why) => new($"{path} is not a valid safetensors file: {why}");
}
