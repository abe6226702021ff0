using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

/// <summary>
/// librdkafka's built-in partitioners (the producer's <c>partitioner</c> setting), computed on the serialized key.
/// consistent = CRC32 of the key (null keys → partition 0); murmur2 = the Java client's murmur2, so keyed
/// records land where a Java producer would put them; the *_random variants and random send null keys to a
/// random partition. The default, like librdkafka's, is consistent_random.
/// </summary>
public static class KeyPartitioner
{
    /// <summary>The partition librdkafka's <paramref name="partitioner"/> picks for a key.</summary>
    public static int Choose(Partitioner partitioner, ReadOnlySpan<byte> key, bool keyIsNull, int partitionCount, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        bool randomForNull = partitioner is Partitioner.ConsistentRandom or Partitioner.Murmur2Random;
        if (partitioner == Partitioner.Random || (keyIsNull && randomForNull))
            return random.Next(partitionCount);
        return partitioner switch
        {
            Partitioner.Murmur2 or Partitioner.Murmur2Random => (int)((Murmur2(key) & 0x7fffffff) % partitionCount),
            _ => (int)(Crc32(key) % (uint)partitionCount),
        };
    }

    /// <summary>CRC-32 (IEEE 802.3, reflected, as zlib): librdkafka's consistent partitioner hash.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data) crc = Crc32Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }

    /// <summary>Murmur2 with the Java client's seed and tail handling (Kafka's <c>Utils.murmur2</c>).</summary>
    public static int Murmur2(ReadOnlySpan<byte> data)
    {
        const uint m = 0x5bd1e995;
        const int r = 24;
        int length = data.Length;
        uint h = 0x9747b28c ^ (uint)length;
        int blocks = length / 4;
        for (int i = 0; i < blocks; i++)
        {
            uint k = (uint)(data[4 * i] | data[4 * i + 1] << 8 | data[4 * i + 2] << 16 | data[4 * i + 3] << 24);
            k *= m;
            k ^= k >> r;
            k *= m;
            h *= m;
            h ^= k;
        }
        int tail = blocks * 4;
        switch (length % 4)
        {
            case 3:
                h ^= (uint)data[tail + 2] << 16;
                goto case 2;
            case 2:
                h ^= (uint)data[tail + 1] << 8;
                goto case 1;
            case 1:
                h ^= data[tail];
                h *= m;
                break;
        }
        h ^= h >> 13;
        h *= m;
        h ^= h >> 15;
        return (int)h;
    }

    private static readonly uint[] Crc32Table = BuildCrc32Table();

    private static uint[] BuildCrc32Table()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
