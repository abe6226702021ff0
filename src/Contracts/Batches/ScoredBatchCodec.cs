using System.Text;

namespace Reweighting.Contracts.Batches;

/// <summary>What the fixed part of a scored batch says, readable without decoding its documents.</summary>
/// <param name="MajorVersion">Schema major version; only <see cref="ScoredBatchCodec.MajorVersion"/> is readable.</param>
/// <param name="MinorVersion">Schema minor version; newer minors add fields that older readers skip.</param>
/// <param name="BatchId">The batch id.</param>
/// <param name="ScorerModel">The scorer model id.</param>
/// <param name="GmmVersion">The GMM version, or null.</param>
/// <param name="CreatedAt">When the batch was built (UTC, whole microseconds).</param>
/// <param name="Components">K, responsibilities per document.</param>
/// <param name="DocumentCount">Documents in the batch.</param>
public sealed record ScoredBatchHeader(
    byte MajorVersion,
    byte MinorVersion,
    Guid BatchId,
    string ScorerModel,
    int? GmmVersion,
    DateTimeOffset CreatedAt,
    int Components,
    int DocumentCount);

/// <summary>The binary wire format of <c>scored-batches</c> values, schema 1.3 (and 1.0 to 1.2, read with the fields they
/// lack unknown); docs/contracts.md has the layout byte by byte. Encoding refuses invalid batches with
/// <see cref="ArgumentException"/>; decoding validates every length, count and value and throws
/// <see cref="InvalidDataException"/> on anything corrupt, truncated or of an unknown major version.</summary>
public static class ScoredBatchCodec
{
    /// <summary>Schema major version this code writes and reads. A reader refuses any other major.</summary>
    public const byte MajorVersion = 1;

    /// <summary>Schema minor version this code writes. Readers accept newer minors of the same major and skip the
    /// fields those add at the end of the header and of each document record.</summary>
    public const byte MinorVersion = 3;

    /// <summary>The first minor version whose document records end with the scored bytes.</summary>
    private const byte ScoredBytesSince = 1;

    /// <summary>The first minor version whose document records end with the compression ratio, after the scored bytes.</summary>
    private const byte CompressionSince = 2;

    /// <summary>The first minor version whose document records end with the order gain, after the compression ratio.</summary>
    private const byte OrderGainSince = 3;

    /// <summary>Most GMM components a batch may carry.</summary>
    public const int MaxComponents = 1024;

    /// <summary>Bytes before the header: magic, major, minor, header length.</summary>
    public const int PreambleBytes = 10;

    private const int MinDocumentBytes = 4;
    private static readonly long MinUnixMicros = DateTimeOffset.MinValue.ToUnixTimeMilliseconds() * 1000;
    private static readonly long MaxUnixMicros = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds() * 1000;

    /// <summary>The first four bytes of every scored batch: ASCII "RWSB".</summary>
    public static ReadOnlySpan<byte> Magic => "RWSB"u8;

    /// <summary>The schema version this code writes, as the <c>schema-version</c> header carries it.</summary>
    public static string SchemaVersion => $"{MajorVersion}.{MinorVersion}";

    /// <summary>The Kafka key of a batch: its id in the 36-character "D" form, UTF-8.</summary>
    public static byte[] EncodeKey(Guid batchId) => Encoding.UTF8.GetBytes(batchId.ToString("D"));

    /// <summary>Encodes a batch; throws <see cref="ArgumentException"/> when it breaks the contract (see <see cref="ScoredBatchValidation"/>).</summary>
    public static byte[] Encode(ScoredBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ScoredBatchValidation.ThrowIfInvalid(batch);
        using var w = new WireWriter(EstimateSize(batch));
        w.Bytes(Magic);
        w.Byte(MajorVersion);
        w.Byte(MinorVersion);
        var headerLengthAt = w.Position;
        w.UInt32(0);
        var headerStart = w.Position;
        batch.BatchId.TryWriteBytes(w.Reserve(16), bigEndian: true, out _);
        w.Int64(ToUnixMicros(batch.CreatedAt));
        w.Int32(batch.GmmVersion ?? -1);
        w.UInt16((ushort)batch.Components);
        w.UInt32((uint)batch.Documents.Count);
        w.String(batch.ScorerModel, "scorer model id");
        w.PatchUInt32(headerLengthAt, (uint)(w.Position - headerStart));

        for (var i = 0; i < batch.Documents.Count; i++)
        {
            var d = batch.Documents[i];
            var lengthAt = w.Position;
            w.UInt32(0);
            var start = w.Position;
            w.String(d.Id, $"document {i} id");
            w.NullableString(d.Domain, $"document {i} domain");
            w.VarUInt((uint)d.TokenCount);
            w.Double(d.LossMean);
            w.Double(d.LossVariance);
            w.Byte((byte)d.Label);
            w.Single(d.Confidence);
            foreach (var r in d.Responsibilities) w.Single(r);
            var offsets = d.Windows.Offsets;
            w.VarUInt((uint)d.Windows.Count);
            for (var k = 1; k < offsets.Length; k++) w.VarUInt((uint)(offsets[k] - offsets[k - 1]));
            w.VarUInts(d.Windows.Tokens);
            w.Int64(d.ScoredBytes ?? 0);
            w.Double(d.CompressionRatio ?? 0);
            w.Double(OrderGainOnWire(d.OrderGain));
            w.PatchUInt32(lengthAt, (uint)(w.Position - start));
        }
        return w.ToArray();
    }

    /// <summary>Decodes a batch, validating everything; throws <see cref="InvalidDataException"/> on bad data.</summary>
    public static ScoredBatch Decode(ReadOnlySpan<byte> data)
    {
        var (header, minor, documentsAt) = ReadHeaderCore(data);
        var r = new WireReader(data[documentsAt..], documentsAt);
        var documents = new ScoredDocument[header.DocumentCount];
        var skipUnknown = minor > MinorVersion;
        for (var i = 0; i < documents.Length; i++)
        {
            var length = r.UInt32($"document {i} record length");
            if (length > r.Remaining)
                throw r.Corrupt($"document {i} record length is {length}, only {r.Remaining} bytes remain (truncated?)");
            var record = new WireReader(r.Bytes((int)length, $"document {i} record"), r.Offset - (int)length);
            documents[i] = ReadDocument(ref record, i, header.Components, minor);
            if (record.Remaining > 0)
            {
                if (!skipUnknown)
                    throw record.Corrupt($"document {i} record has {record.Remaining} bytes after its last field, which schema {header.MajorVersion}.{minor} does not define");
                record.Skip(record.Remaining, "unknown document fields");
            }
        }
        if (r.Remaining > 0) throw r.Corrupt($"{r.Remaining} bytes follow the last document");
        return new ScoredBatch(header.BatchId, header.ScorerModel, header.GmmVersion, header.CreatedAt, header.Components, documents);
    }

    /// <summary>Reads the preamble and header only (version, batch id, ...); throws <see cref="InvalidDataException"/> on bad data.</summary>
    public static ScoredBatchHeader ReadHeader(ReadOnlySpan<byte> data) => ReadHeaderCore(data).Header;

    private static (ScoredBatchHeader Header, byte Minor, int DocumentsAt) ReadHeaderCore(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data);
        if (data.Length < Magic.Length || !data[..Magic.Length].SequenceEqual(Magic))
            throw new InvalidDataException(data.Length < Magic.Length
                ? $"not a scored batch: {data.Length} bytes, shorter than the magic \"RWSB\""
                : $"not a scored batch: it starts with {Convert.ToHexString(data[..Magic.Length])}, not the magic \"RWSB\" (52575342)");
        r.Skip(Magic.Length, "magic");
        var major = r.Byte("major version");
        var minor = r.Byte("minor version");
        if (major != MajorVersion)
            throw new InvalidDataException(major > MajorVersion
                ? $"scored batch schema {major}.{minor} is newer than this reader understands ({MajorVersion}.x); upgrade the consumer"
                : $"scored batch schema {major}.{minor} is unknown; this reader understands {MajorVersion}.x");
        var headerLength = r.UInt32("header length");
        if (headerLength > r.Remaining) throw r.Corrupt($"header length is {headerLength}, only {r.Remaining} bytes remain (truncated?)");
        var h = new WireReader(r.Bytes((int)headerLength, "header"), PreambleBytes);
        var batchId = new Guid(h.Bytes(16, "batch id"), bigEndian: true);
        var micros = h.Int64("created at");
        if (micros < MinUnixMicros || micros > MaxUnixMicros) throw h.Corrupt($"created at {micros} us is outside the range of a date");
        var gmm = h.Int32("GMM version");
        if (gmm < -1) throw h.Corrupt($"GMM version {gmm} is negative (only -1, meaning none, is allowed)");
        var components = h.UInt16("component count");
        if (components > MaxComponents) throw h.Corrupt($"component count {components} exceeds {MaxComponents}");
        var count = h.UInt32("document count");
        if (count > (uint)(data.Length - PreambleBytes - (int)headerLength) / MinDocumentBytes)
            throw h.Corrupt($"document count {count} is more than the remaining bytes can hold (truncated?)");
        var model = h.String("scorer model id");
        if (model.Length == 0) throw h.Corrupt("scorer model id is empty");
        if (h.Remaining > 0)
        {
            if (minor <= MinorVersion) throw h.Corrupt($"header has {h.Remaining} bytes after its last field, which schema {major}.{minor} does not define");
            h.Skip(h.Remaining, "unknown header fields");
        }
        var header = new ScoredBatchHeader(major, minor, batchId, model, gmm < 0 ? null : gmm,
            new DateTimeOffset(DateTimeOffset.UnixEpoch.Ticks + micros * 10, TimeSpan.Zero), components, (int)count);
        return (header, minor, PreambleBytes + (int)headerLength);
    }

    private static ScoredDocument ReadDocument(ref WireReader r, int i, int components, byte minor)
    {
        var id = r.String($"document {i} id");
        if (id.Length == 0) throw r.Corrupt($"document {i} id is empty");
        var domain = r.NullableString($"document {i} domain");
        var tokenCount = r.VarInt($"document {i} token count");
        var mean = r.Double($"document {i} loss mean");
        var variance = r.Double($"document {i} loss variance");
        var label = r.Byte($"document {i} label");
        var confidence = r.Single($"document {i} confidence");
        if (components * 4 > r.Remaining) throw r.Corrupt($"document {i} needs {components * 4} bytes of responsibilities, only {r.Remaining} remain (truncated?)");
        var responsibilities = new float[components];
        for (var k = 0; k < components; k++) responsibilities[k] = r.Single($"document {i} responsibility {k}");

        var windowCount = r.Count($"document {i} window count", minBytesEach: 1);
        var offsets = new int[windowCount + 1];
        for (var w = 0; w < windowCount; w++)
        {
            var length = r.VarInt($"document {i} window {w} length");
            if ((long)offsets[w] + length > r.Remaining)
                throw r.Corrupt($"document {i} windows hold more tokens than the remaining {r.Remaining} bytes can (truncated?)");
            offsets[w + 1] = offsets[w] + length;
        }
        var tokens = new int[offsets[^1]];
        r.VarInts(tokens, $"document {i} token id");
        // Schema 1.0 did not count bytes; from 1.1 on, 0 means unknown too.
        var bytes = minor >= ScoredBytesSince ? r.Int64($"document {i} scored bytes") : 0;
        // Before 1.2 the compression ratio was not measured; from 1.2 on, 0 means unknown too.
        var compression = minor >= CompressionSince ? r.Double($"document {i} compression ratio") : 0;
        // Before 1.3 the order gain was not measured; from 1.3 on, +0.0 means unknown too (a measured 0 travels as -0.0).
        double? orderGain = minor >= OrderGainSince ? OrderGainFromWire(r.Double($"document {i} order gain")) : null;
        var doc = new ScoredDocument(id, domain, tokenCount, bytes == 0 ? null : (long?)bytes, mean, variance, (SampleLabel)label,
            confidence, responsibilities, new WindowedTokens(tokens, offsets, validated: true), compression == 0 ? null : compression,
            orderGain);
        if (ScoredBatchValidation.Problem(doc, components) is { } problem) throw r.Corrupt($"document {i}: {problem}");
        return doc;
    }

    /// <summary>The order gain as the wire carries it: +0.0 (all bits zero) for unknown, as for every field added by a minor
    /// version; a measured gain of exactly 0 (words whose shuffle compresses to the same size, common in short texts) as
    /// -0.0, so that it stays known.</summary>
    private static double OrderGainOnWire(double? gain) => gain switch
    {
        null => 0.0,
        0.0 => -0.0,
        { } g => g,
    };

    private static double? OrderGainFromWire(double value) =>
        BitConverter.DoubleToInt64Bits(value) == 0 ? null : value == 0 ? 0.0 : value;

    private static long ToUnixMicros(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    private static int EstimateSize(ScoredBatch batch)
    {
        long size = 64 + batch.ScorerModel.Length * 3L;
        foreach (var d in batch.Documents)
            size += 64 + d.Id.Length * 3L + (d.Domain?.Length ?? 0) * 3L + 4L * d.Responsibilities.Length + 3L * d.Windows.TokenCount
                    + 2L * d.Windows.Count;
        return (int)Math.Min(size, 1 << 26);
    }
}
