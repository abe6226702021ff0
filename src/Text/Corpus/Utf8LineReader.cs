namespace Reweighting.Text.Corpus;

/// <summary>Reads a stream line by line as raw UTF-8 bytes, so invalid bytes can be reported per line instead of silently replaced.</summary>
internal sealed class Utf8LineReader(Stream stream) : IDisposable
{
    private byte[] _buffer = new byte[1 << 16];
    private int _start;
    private int _end;
    private bool _eof;

    /// <summary>The 1-based number of the line last returned.</summary>
    public long LineNumber { get; private set; }

    /// <summary>The next line without its "\n" or "\r\n" (and without a leading BOM); valid until the next call.</summary>
    public bool TryReadLine(out ReadOnlySpan<byte> line)
    {
        while (true)
        {
            var newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                line = Take(newline, newline + 1);
                return true;
            }
            if (_eof)
            {
                if (_start == _end) { line = default; return false; }
                line = Take(_end - _start, _end - _start);
                return true;
            }
            Fill();
        }
    }

    private ReadOnlySpan<byte> Take(int length, int consumed)
    {
        var line = _buffer.AsSpan(_start, length);
        _start += consumed;
        LineNumber++;
        if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
        if (LineNumber == 1 && line.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) line = line[3..];
        return line;
    }

    private void Fill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2); // a line longer than the buffer
        var read = stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0) _eof = true;
        _end += read;
    }

    public void Dispose() => stream.Dispose();
}
