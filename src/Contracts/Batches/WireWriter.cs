using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Reweighting.Contracts.Batches;

/// <summary>Appends little-endian fixed-width values and LEB128 varints to a pooled, growing buffer whose
/// earlier bytes can be patched (for length prefixes written before their record).</summary>
internal sealed class WireWriter : IDisposable
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private byte[] _buffer;
    private int _position;

    public WireWriter(int initialCapacity) => _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(64, initialCapacity));

    public int Position => _position;

    public Span<byte> Reserve(int bytes)
    {
        Ensure(bytes);
        var span = _buffer.AsSpan(_position, bytes);
        _position += bytes;
        return span;
    }

    public void Byte(byte value) => Reserve(1)[0] = value;

    public void Bytes(ReadOnlySpan<byte> value) => value.CopyTo(Reserve(value.Length));

    public void UInt16(ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(Reserve(2), value);

    public void UInt32(uint value) => BinaryPrimitives.WriteUInt32LittleEndian(Reserve(4), value);

    public void Int32(int value) => BinaryPrimitives.WriteInt32LittleEndian(Reserve(4), value);

    public void Int64(long value) => BinaryPrimitives.WriteInt64LittleEndian(Reserve(8), value);

    public void Double(double value) => BinaryPrimitives.WriteDoubleLittleEndian(Reserve(8), value);

    public void Single(float value) => BinaryPrimitives.WriteSingleLittleEndian(Reserve(4), value);

    public void PatchUInt32(int at, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(at, 4), value);

    public void VarUInt(uint value)
    {
        Ensure(5);
        _position += WriteVarUInt(_buffer.AsSpan(_position), value);
    }

    /// <summary>Writes non-negative ints as varints in one go: one capacity check for the whole run.</summary>
    public void VarUInts(ReadOnlySpan<int> values)
    {
        Ensure(checked(values.Length * 5));
        var span = _buffer.AsSpan(_position);
        var written = 0;
        foreach (var v in values) written += WriteVarUInt(span[written..], (uint)v);
        _position += written;
    }

    /// <summary>A varint byte length, then the UTF-8 bytes; a string with a lone surrogate is refused.</summary>
    public void String(string value, string what)
    {
        int length;
        try
        {
            length = StrictUtf8.GetByteCount(value);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"{what} is not valid Unicode (a lone surrogate?)", e);
        }
        VarUInt((uint)length);
        StrictUtf8.GetBytes(value, Reserve(length));
    }

    /// <summary>Like <see cref="String"/> with the length plus one, so 0 can mean null.</summary>
    public void NullableString(string? value, string what)
    {
        if (value is null)
        {
            VarUInt(0);
            return;
        }
        int length;
        try
        {
            length = StrictUtf8.GetByteCount(value);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"{what} is not valid Unicode (a lone surrogate?)", e);
        }
        VarUInt(checked((uint)length + 1));
        StrictUtf8.GetBytes(value, Reserve(length));
    }

    public byte[] ToArray() => _buffer.AsSpan(0, _position).ToArray();

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    private static int WriteVarUInt(Span<byte> span, uint value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        span[i++] = (byte)value;
        return i;
    }

    private void Ensure(int bytes)
    {
        if (_buffer.Length - _position >= bytes) return;
        var needed = (long)_position + bytes;
        if (needed > Array.MaxLength) throw new InvalidOperationException("a scored batch cannot exceed 2 GiB");
        var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, Math.Max(needed, 2L * _buffer.Length)));
        _buffer.AsSpan(0, _position).CopyTo(grown);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = grown;
    }
}
