using System.IO.Compression;
using System.Text;

namespace Reweighting.Statistics;

/// <summary>How far a document's text compresses: its size under DEFLATE (zlib, smallest size) over its UTF-8 size. Text
/// that repeats itself (keyword stuffing, boilerplate, log lines, link lists) compresses far below prose; random
/// characters and encoded blobs barely compress. It is the compressor's surprise per byte beside the proxy's, and it
/// does not depend on what the proxy learnt from the stream.</summary>
public static class TextCompression
{
    /// <summary>Compressed bytes over UTF-8 bytes of <paramref name="text"/> (NaN for empty text).</summary>
    public static double Ratio(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0) return double.NaN;
        var bytes = Encoding.UTF8.GetBytes(text);
        var sink = new CountingStream();
        using (var zlib = new ZLibStream(sink, CompressionLevel.SmallestSize, leaveOpen: true)) zlib.Write(bytes);
        return (double)sink.Length / bytes.Length;
    }

    /// <summary>A write-only stream that keeps only the count of what it was given.</summary>
    private sealed class CountingStream : Stream
    {
        private long _length;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _length;

        public override long Position
        {
            get => _length;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => _length += count;

        public override void Write(ReadOnlySpan<byte> buffer) => _length += buffer.Length;

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
