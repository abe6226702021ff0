using System.Buffers.Binary;
using System.Text;

namespace Reweighting.Contracts.Batches;

/// <summary>Reads what <see cref="WireWriter"/> writes from a span, checking every length against the bytes left.
/// Every failure is an <see cref="InvalidDataException"/> naming the field and its byte offset in the message.</summary>
internal ref struct WireReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly int _baseOffset;
    private int _position;

    public WireReader(ReadOnlySpan<byte> data, int baseOffset = 0)
    {
        this._data = data;
        this._baseOffset = baseOffset;
    }

    /// <summary>Offset of the next byte within the whole message.</summary>
    public readonly int Offset => _baseOffset + _position;

    public readonly int Remaining => _data.Length - _position;

    public ReadOnlySpan<byte> Bytes(int count, string field)
    {
        if (count < 0 || count > Remaining)
            throw Corrupt($"{field} needs {count} bytes, only {Remaining} remain (truncated?)");
        var span = _data.Slice(_position, count);
        _position += count;
        return span;
    }

    public byte Byte(string field) => Bytes(1, field)[0];

    public ushort UInt16(string field) => BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2, field));

    public uint UInt32(string field) => BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4, field));

    public int Int32(string field) => BinaryPrimitives.ReadInt32LittleEndian(Bytes(4, field));

    public long Int64(string field) => BinaryPrimitives.ReadInt64LittleEndian(Bytes(8, field));

    public double Double(string field) => BinaryPrimitives.ReadDoubleLittleEndian(Bytes(8, field));

    public float Single(string field) => BinaryPrimitives.ReadSingleLittleEndian(Bytes(4, field));

    /// <summary>A canonical LEB128 varint of at most 31 bits (5 bytes, no redundant trailing zero byte).</summary>
    public int VarInt(string field)
    {
        var start = _position;
        uint value = 0;
        for (var shift = 0; ; shift += 7)
        {
            if (_position >= _data.Length) throw CorruptAt(start, $"{field}: varint runs past the end (truncated?)");
            var b = _data[_position++];
            if (shift == 28 && b > 0x07) throw CorruptAt(start, $"{field}: varint exceeds 2^31 - 1");
            value |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                if (b == 0 && shift > 0) throw CorruptAt(start, $"{field}: varint is not minimally encoded");
                return (int)value;
            }
        }
    }

    /// <summary>Fills <paramref name="into"/> with varints: the token loop, kept free of per-value calls.</summary>
    public void VarInts(Span<int> into, string field)
    {
        for (var i = 0; i < into.Length; i++)
        {
            var b = _position < _data.Length ? _data[_position] : -1;
            if (b is >= 0 and < 0x80)
            {
                into[i] = b; // one-byte fast path: ids below 128
                _position++;
            }
            else
            {
                into[i] = VarInt(field);
            }
        }
    }

    /// <summary>A varint count whose items take at least <paramref name="minBytesEach"/> bytes, so a corrupt count
    /// cannot make the reader allocate more than the message could hold.</summary>
    public int Count(string field, int minBytesEach)
    {
        var start = _position;
        var count = VarInt(field);
        if ((long)count * minBytesEach > Remaining)
            throw CorruptAt(start, $"{field} is {count}, more than the {Remaining} remaining bytes can hold (truncated?)");
        return count;
    }

    public string String(string field) => Utf8(Bytes(VarInt($"{field} length"), field), field);

    public string? NullableString(string field)
    {
        var length = VarInt($"{field} length");
        return length == 0 ? null : Utf8(Bytes(length - 1, field), field);
    }

    public void Skip(int count, string field) => Bytes(count, field);

    public readonly InvalidDataException Corrupt(string message) => CorruptAt(_position, message);

    public readonly InvalidDataException CorruptAt(int localOffset, string message) =>
        new($"corrupt scored batch at byte {_baseOffset + localOffset}: {message}");

    private readonly string Utf8(ReadOnlySpan<byte> bytes, string field)
    {
        if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw Corrupt($"{field} is not valid UTF-8");
        return Encoding.UTF8.GetString(bytes);
    }
}
