using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Reweighting.Trainer.Streaming;

/// <summary>Routes documents to the validation set by a stable hash of their id: the first 8 bytes of SHA-256 of the
/// id's UTF-8, read big-endian as an unsigned integer u, put a document in validation when u / 2^64 &lt; fraction. Any
/// process in any language computes the same split, so the scorer and trainer agree on it without coordination.</summary>
public static class ValidationSplit
{
    /// <summary>The document's position in [0, 1) under the hash.</summary>
    public static double Position(string documentId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(documentId), hash);
        return BinaryPrimitives.ReadUInt64BigEndian(hash) / 18446744073709551616.0; // 2^64
    }

    /// <summary>Whether the document belongs to the validation set at this fraction.</summary>
    public static bool IsValidation(string documentId, double fraction) => fraction > 0 && Position(documentId) < fraction;
}
