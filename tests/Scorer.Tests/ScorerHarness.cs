using System.Text;
using Confluent.Kafka;
using Npgsql;
using Reweighting.Contracts;
using Reweighting.Contracts.Batches;
using Reweighting.Contracts.Documents;
using Reweighting.Gmm;
using Reweighting.InProcessKafka;
using Reweighting.Scorer.Pipeline;
using Reweighting.Storage.Writing;
using Reweighting.Testing.Postgres;

namespace Reweighting.Scorer.Tests;

/// <summary>One scorer under test: an in-process Kafka cluster with <c>documents</c> (3 partitions) and
/// <c>documents.dlq</c>, a fresh PostgreSQL database, and pipelines that run against them.</summary>
public sealed class ScorerHarness : IAsyncDisposable
{
    public const string Group = "scorer-test";
    public const int Partitions = 3;

    private readonly List<RunningScorer> _running = [];
    private readonly IProducer<string, byte[]> _producer;
    private readonly IProducer<byte[]?, byte[]> _deadLetterProducer;

    private ScorerHarness(InProcessKafkaCluster kafka, NpgsqlDataSource database)
    {
        Kafka = kafka;
        Database = database;
        _producer = kafka.CreateProducer<string, byte[]>(new ProducerConfig { EnableIdempotence = true });
        _deadLetterProducer = kafka.CreateProducer<byte[]?, byte[]>(new ProducerConfig { EnableIdempotence = true });
    }

    public InProcessKafkaCluster Kafka { get; }
    public NpgsqlDataSource Database { get; }

    /// <summary>Where pipelines log (a test's output); nowhere when null.</summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? Loggers { get; set; }

    public static async Task<ScorerHarness> CreateAsync(PostgresCluster postgres, Xunit.Abstractions.ITestOutputHelper? output = null)
    {
        var kafka = new InProcessKafkaCluster();
        kafka.CreateTopic(Topics.Documents, Partitions);
        kafka.CreateTopic(Topics.DocumentsDeadLetter, 1);
        return new ScorerHarness(kafka, await postgres.CreateDatabaseAsync()) { Loggers = output is null ? null : new TestOutputLoggers(output) };
    }

    /// <summary>Fast settings: small batches, short waits, short back-off.</summary>
    public static ScorerOptions Options => new()
    {
        GroupId = Group,
        InstanceId = "scorer-under-test",
        ModelId = "tiny-proxy",
        Device = "cpu",
        TokenBudget = 300,
        MaxWait = TimeSpan.FromMilliseconds(150),
        // The tests decide when batches close (budget, count, wait); one test covers closing when caught up.
        CloseWhenCaughtUp = false,
        PollInterval = TimeSpan.FromMilliseconds(20),
        DrainTimeout = TimeSpan.FromSeconds(5),
        OutageBaseDelay = TimeSpan.FromMilliseconds(100),
        OutageMaxDelay = TimeSpan.FromMilliseconds(500),
        WriteRetry = new WriteRetryOptions { MaxRetries = 1, BaseDelay = TimeSpan.FromMilliseconds(20) },
        KeepText = true,
    };

    /// <summary>A three-component GMM stored as version 7, labelling by mean loss around 3, 5.5 and 8 nats.</summary>
    public static ActiveGmm Gmm()
    {
        double[][] identity = [[1, 0], [0, 1]];
        var means = new[] { new[] { 3.0, 0.0 }, [5.5, 0.0], [8.0, 0.0] };
        var parameters = new GmmParameters([0.3, 0.4, 0.3], means, [identity, identity, identity], FeatureTransform.LogVariance);
        return ActiveGmm.From(new GmmModel(7, "tiny-proxy", parameters, ComponentLabels.ByAscendingMeanLoss(means), 100, -1, DateTimeOffset.UnixEpoch));
    }

    /// <summary>Starts a pipeline in the group; stop it with <see cref="RunningScorer.StopAsync"/>.</summary>
    public RunningScorer Start(ScorerOptions? options = null, IDocumentLabeller? labeller = null, Action<string>? fault = null)
    {
        options ??= Options;
        var consumerConfig = new ConsumerConfig
        {
            GroupId = options.GroupId,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoOffsetStore = false,
            EnableAutoCommit = true,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            SessionTimeoutMs = 2_000,
        };
        var scorer = TinyProxy.Load();
        var pipeline = new ScorerPipeline(options, Kafka.ConsumerBuilder<byte[]?, byte[]?>(consumerConfig), _deadLetterProducer, scorer,
            labeller ?? new FixedDocumentLabeller(Gmm()), Database, Loggers) { Fault = fault };
        var stop = new CancellationTokenSource();
        var running = new RunningScorer(pipeline, scorer, stop, pipeline.RunAsync(stop.Token));
        _running.Add(running);
        return running;
    }

    /// <summary>Produces documents doc-{from} .. doc-{from + count - 1}, keyed by id.</summary>
    public async Task<List<string>> ProduceAsync(int from, int count, int seed = 1)
    {
        var random = new Random(seed + from);
        var ids = new List<string>();
        for (var i = from; i < from + count; i++)
        {
            var id = $"doc-{i:D4}";
            var record = new DocumentRecord(id, Corpus.Text(random), domain: i % 2 == 0 ? "web" : "books");
            await _producer.ProduceAsync(Topics.Documents, new Message<string, byte[]> { Key = id, Value = record.ToUtf8Json() });
            ids.Add(id);
        }
        return ids;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, failing after <paramref name="seconds"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, double seconds = 20, string what = "the condition")
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"{what} did not hold within {seconds} s");
            await Task.Delay(25);
        }
    }

    public Task WaitForScoresAsync(int count, double seconds = 20) =>
        WaitUntilAsync(async () => await ScalarAsync("SELECT count(*) FROM sample_scores") >= count, seconds, $"{count} stored scores");

    public async Task<long> ScalarAsync(string sql)
    {
        await using var cmd = Database.CreateCommand(sql);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    public async Task<List<string>> StoredIdsAsync()
    {
        var ids = new List<string>();
        await using var cmd = Database.CreateCommand("SELECT document_id FROM sample_scores ORDER BY document_id");
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) ids.Add(reader.GetString(0));
        return ids;
    }

    /// <summary>Every scored batch in the outbox, decoded.</summary>
    public async Task<List<ScoredBatch>> OutboxAsync()
    {
        var batches = new List<ScoredBatch>();
        await using var cmd = Database.CreateCommand("SELECT payload FROM scored_batch_outbox ORDER BY created_at");
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) batches.Add(ScoredBatchCodec.Decode((byte[])reader[0]));
        return batches;
    }

    /// <summary>Stored next offset of each partition of <c>documents</c>.</summary>
    public async Task<Dictionary<int, long>> StoredOffsetsAsync()
    {
        var offsets = new Dictionary<int, long>();
        await using var cmd = Database.CreateCommand("SELECT partition, next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2");
        cmd.Parameters.Add(new NpgsqlParameter { Value = Group });
        cmd.Parameters.Add(new NpgsqlParameter { Value = Topics.Documents });
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) offsets[reader.GetInt32(0)] = reader.GetInt64(1);
        return offsets;
    }

    /// <summary>The end offset of every partition of <c>documents</c>.</summary>
    public Dictionary<int, long> EndOffsets() =>
        Enumerable.Range(0, Partitions).ToDictionary(p => p, p => Kafka.Watermarks(new TopicPartition(Topics.Documents, p)).High.Value);

    public List<DeadLetterRecord> DeadLetters() =>
        Kafka.ReadTopic(Topics.DocumentsDeadLetter).Select(r => DeadLetterRecord.FromUtf8Json(r.Message.Value)).ToList();

    public async ValueTask DisposeAsync()
    {
        foreach (var r in _running) await r.DisposeAsync();
        _producer.Dispose();
        _deadLetterProducer.Dispose();
        // Closes this test's pooled connections now: the shared server allows few, and idle ones would outlive the test.
        await Database.DisposeAsync();
    }
}

/// <summary>A pipeline running in the background.</summary>
public sealed class RunningScorer(ScorerPipeline pipeline, ProxyScorer scorer, CancellationTokenSource stop, Task run) : IAsyncDisposable
{
    public ScorerPipeline Pipeline { get; } = pipeline;
    public Task Run { get; } = run;

    /// <summary>Signals a stop (as SIGTERM does) and waits for the pipeline to end, returning how long that took.</summary>
    public async Task<TimeSpan> StopAsync()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await stop.CancelAsync();
        await Run.WaitAsync(TimeSpan.FromSeconds(60));
        return clock.Elapsed;
    }

    /// <summary>Waits for the pipeline to end by itself (a crash), returning its exception.</summary>
    public async Task<Exception?> CrashedAsync(double seconds = 30)
    {
        try
        {
            await Run.WaitAsync(TimeSpan.FromSeconds(seconds));
            return null;
        }
        catch (TimeoutException)
        {
            throw;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!Run.IsCompleted)
        {
            await stop.CancelAsync();
            try
            {
                await Run.WaitAsync(TimeSpan.FromSeconds(60));
            }
            catch (Exception)
            {
                // Disposal after a failed test: the failure is reported already.
            }
        }
        else
        {
            _ = Run.Exception; // observed
        }
        scorer.Dispose();
        stop.Dispose();
    }
}
