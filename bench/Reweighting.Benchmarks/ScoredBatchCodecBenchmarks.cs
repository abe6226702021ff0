using BenchmarkDotNet.Attributes;
using Reweighting.Contracts;
using Reweighting.Contracts.Batches;

namespace Reweighting.Benchmarks;

/// <summary>The scored-batches wire format: encoding and decoding a batch of 256 documents, each with two 1,024-token
/// windows, K = 3 responsibilities and its statistics (about 2 MB on the wire).</summary>
[MemoryDiagnoser]
public class ScoredBatchCodecBenchmarks
{
    private ScoredBatch _batch = null!;
    private byte[] _encoded = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(3);
        var documents = Enumerable.Range(0, 256).Select(i =>
        {
            var tokens = Enumerable.Range(0, 2048).Select(_ => rng.Next(50_257)).ToArray();
            float a = (float)rng.NextDouble(), b = (1 - a) / 2;
            return new ScoredDocument($"doc-{i:D6}", i % 3 == 0 ? "code" : "web", 2048, 8192, 2 + rng.NextDouble() * 5,
                rng.NextDouble() * 3, SampleLabel.Easy, a, [a, b, b], new WindowedTokens(tokens, [0, 1024, 2048]));
        }).ToList();
        _batch = new ScoredBatch(Guid.NewGuid(), "proxy-bench", 4, DateTimeOffset.UnixEpoch, 3, documents);
        _encoded = ScoredBatchCodec.Encode(_batch);
        if (ScoredBatchCodec.Decode(_encoded).Documents.Count != documents.Count)
            throw new InvalidOperationException("the codec lost documents");
    }

    [Benchmark(Description = "encode 256 documents")]
    public int Encode() => ScoredBatchCodec.Encode(_batch).Length;

    [Benchmark(Description = "decode 256 documents")]
    public int Decode() => ScoredBatchCodec.Decode(_encoded).Documents.Count;
}
