using System.Diagnostics;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Reweighting.Cli.Commands;
using Reweighting.Cli.Demo;
using Reweighting.Cli.Streaming;
using Reweighting.Cli.Hosting;
using Reweighting.Contracts;
using Reweighting.InProcessKafka;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Scoring;
using Reweighting.Scorer;
using Reweighting.Scorer.Pipeline;
using Reweighting.Statistics;
using Reweighting.Storage;
using Reweighting.Storage.Embedded;
using Reweighting.Storage.Queries;
using Reweighting.Text.Corpus;
using Reweighting.Text.Tokenization;
using Reweighting.Torch;

namespace Reweighting.Cli.Bench;

/// <summary>Settings of <c>reweight bench scorer</c>.</summary>
internal sealed record ScorerBenchSettings
{
    public required string ModelDirectory { get; init; }
    public required string Corpus { get; init; }
    public int? Documents { get; init; }
    public string? Bootstrap { get; init; }
    public string? Database { get; init; }
    public string Device { get; init; } = "cpu";
    public CorpusReaderOptions? Fields { get; init; }
    public int? TokenBudget { get; init; }
    public int? WindowTokenBudget { get; init; }
    public int Repeats { get; init; } = 1;
    public string? JsonPath { get; init; }
    public string? MarkdownPath { get; init; }
}

/// <summary>The scorer service against the plain scoring path (`lm score`) on the same proxy, corpus and device, in one
/// invocation: tokens/s of both and their ratio, where the service's time went, and how full its batches were.</summary>
/// <remarks>
/// <para>The reference is `lm score`'s loop: tokenise every document, score the whole corpus through one
/// <see cref="DocumentScorer"/> (windows packed across documents over its look-ahead), compute each document's
/// statistics and write one JSON line. Both paths use the service's window batching and prefix every document with
/// <c>&lt;|endoftext|&gt;</c>, so they score the same tokens.</para>
/// <para>The service runs as a user runs it: the Generic Host with <c>AddScorer</c> and the service defaults (only the
/// database, the model and the device are given), against the in-process broker or a Kafka-protocol broker
/// (<c>--bootstrap</c>), and PostgreSQL (an embedded cluster, or <c>--db</c>). The corpus is in the topic before the
/// service starts. Its time runs from the moment the pipeline exists (the proxy loaded) until PostgreSQL's offsets reach
/// the end of the topic and the outbox is empty: rows, offsets, outbox and the relay to <c>scored-batches</c> are all
/// inside it.</para>
/// </remarks>
internal static class ScorerBenchmark
{
    public static int Run(ScorerBenchSettings settings)
    {
        try
        {
            return RunAsync(settings, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (ScorerBenchException e)
        {
            return CommandGuard.Fail(e.Message, 1);
        }
    }

    private static async Task<int> RunAsync(ScorerBenchSettings settings, CancellationToken ct)
    {
        var records = CorpusLoading.Read(settings.Corpus, settings.Fields);
        if (settings.Documents is { } limit) records = records.Take(limit).ToList();
        if (records.Count == 0) throw new ScorerBenchException($"no documents in {settings.Corpus}");
        var defaults = new ScorerOptions { ModelDirectory = settings.ModelDirectory };
        var service = defaults with
        {
            TokenBudget = settings.TokenBudget ?? defaults.TokenBudget,
            WindowTokenBudget = settings.WindowTokenBudget ?? defaults.WindowTokenBudget,
        };
        var device = Torch.Device.Parse(settings.Device);
        Console.Error.WriteLine(
            $"bench scorer: {records.Count:N0} documents of {settings.Corpus}, model {settings.ModelDirectory}, {device}");

        if (settings.Repeats < 1) throw new ArgumentException($"--repeats must be positive, not {settings.Repeats}");
        await using var database = await OpenDatabaseAsync(settings.Database, ct);
        // Interleaved, so a machine whose speed drifts (other jobs, clocks) weighs on both paths alike; medians reported.
        var references = new List<DirectRun>();
        var runs = new List<ServiceRun>();
        for (var r = 1; r <= settings.Repeats; r++)
        {
            var direct = ScoreDirectly(settings.ModelDirectory, records, device, service.WindowBatches);
            references.Add(direct);
            Console.Error.WriteLine($"  [{r}/{settings.Repeats}] lm score path: {direct.Tokens:N0} tokens in {direct.Seconds:F1} s, " +
                                    $"{direct.TokensPerSecond:F0} tokens/s");
            var served = await RunServiceAsync(settings, service, database.ConnectionString, records, r, ct);
            runs.Add(served);
            Console.Error.WriteLine($"  [{r}/{settings.Repeats}] service:       {served.Tokens:N0} tokens in {served.Seconds:F1} s, " +
                                    $"{served.TokensPerSecond:F0} tokens/s " +
                                    $"({served.TokensPerSecond / direct.TokensPerSecond:F3} of lm score)");
        }
        var reference = references.OrderBy(x => x.TokensPerSecond).ElementAt(references.Count / 2);
        var run = runs.OrderBy(x => x.TokensPerSecond).ElementAt(runs.Count / 2);
        var ratio = run.TokensPerSecond / reference.TokensPerSecond;
        var result = new Dictionary<string, object?>
        {
            ["date"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"),
            ["cpu"] = ProcInfo.CpuModel(), ["cores"] = Environment.ProcessorCount, ["device"] = device.ToString(),
            ["model"] = Path.GetFileName(Path.GetFullPath(settings.ModelDirectory)), ["corpus"] = Path.GetFileName(settings.Corpus),
            ["documents"] = records.Count,
            ["broker"] = settings.Bootstrap is null ? "in-process" : $"Kafka protocol at {settings.Bootstrap}",
            ["token_budget"] = service.TokenBudget, ["window_token_budget"] = service.WindowTokenBudget,
            ["repeats"] = settings.Repeats,
            ["lm_score"] = reference.ToJson(), ["service"] = run.ToJson(service.TokenBudget), ["ratio"] = Math.Round(ratio, 3),
            ["ratio_per_repeat"] = references.Zip(runs, (d, x) => Math.Round(x.TokensPerSecond / d.TokensPerSecond, 3)).ToArray(),
            ["goal_ratio_at_least_0_9"] = ratio >= 0.9,
        };
        Console.WriteLine(
            $"service / lm score: {ratio:F3} of the tokens/s ({run.TokensPerSecond:F0} against {reference.TokensPerSecond:F0})");
        if (settings.JsonPath is { } json)
        {
            var text = JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }) + "\n";
            await File.WriteAllTextAsync(json, text, ct);
        }
        if (settings.MarkdownPath is { } md) await File.WriteAllTextAsync(md, Markdown(result, reference, run, service.TokenBudget), ct);
        return 0;
    }

    // ---- the reference: lm score's loop ---------------------------------------------------------------------------------

    private static DirectRun ScoreDirectly(string modelDirectory, IReadOnlyList<CorpusRecord> records, Torch.Device device,
        ScoringBatches batches)
    {
        var tokenizer = BpeTokenizer.Load(modelDirectory);
        using var gpt = Checkpoint.LoadModel(modelDirectory, device);
        var endOfText = tokenizer.SpecialTokens[BpeTokenizer.EndOfText];
        var scorer = new DocumentScorer(gpt, device, batches);
        var bytes = new long[records.Count];
        long tokenising = 0, tokens = 0;
        var output = Path.GetTempFileName();
        try
        {
            using var writer = new StreamWriter(output);
            var clock = Stopwatch.StartNew();
            var documents = records.Select((r, i) =>
            {
                var started = Stopwatch.GetTimestamp();
                var ids = new List<int>(r.Text.Length / 3 + 2) { endOfText };
                tokenizer.Encode(r.Text, ids);
                bytes[i] = ScoredDocuments.Bytes(tokenizer, [.. ids]);
                tokenising += Stopwatch.GetTimestamp() - started;
                return (IReadOnlyList<long>)ids.ConvertAll(t => (long)t);
            });
            foreach (var doc in scorer.Score(documents))
            {
                var stats = LossStatistics.Of(doc.Losses, bytes[doc.Index]);
                tokens += stats.Count;
                var row = new { id = records[doc.Index].Id, n_tokens = stats.Count, loss_mean = stats.Mean };
                writer.WriteLine(JsonSerializer.Serialize(row));
            }
            writer.Flush();
            return new DirectRun(records.Count, tokens, clock.Elapsed.TotalSeconds, tokenising / (double)Stopwatch.Frequency,
                scorer.Statistics);
        }
        finally
        {
            File.Delete(output);
        }
    }

    // ---- the service ----------------------------------------------------------------------------------------------------

    private static async Task<ServiceRun> RunServiceAsync(ScorerBenchSettings settings, ScorerOptions service, string database,
        IReadOnlyList<CorpusRecord> records, int repeat, CancellationToken ct)
    {
        var kafka = settings.Bootstrap is null ? new InProcessKafkaCluster() : null;
        var run = $"bench-{DateTime.UtcNow:yyyyMMddHHmmss}-{Environment.ProcessId}-{repeat}";
        var topic = settings.Bootstrap is null ? Topics.Documents : run;
        var modelId = run;
        var group = run;
        var ends = Ingest(kafka, settings.Bootstrap, topic, records);

        var options = service with
        {
            ModelId = modelId, Database = database, Device = settings.Device, GroupId = group, Topic = topic,
            BootstrapServers = settings.Bootstrap ?? service.BootstrapServers, InstanceId = "bench-scorer-1",
            DeadLetterTopic = topic + ".dlq",
        };
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new DemoLogProvider(_ => { }, verbose: false));
        if (kafka is not null) builder.Services.AddSingleton<IScorerKafkaClients>(new InProcessScorerKafkaClients(kafka));
        builder.Services.AddScorer(builder.Configuration).UseOptions(options);
        using var host = builder.Build();
        var worker = host.Services.GetRequiredService<ScorerWorker>();
        await host.StartAsync(ct);
        await using var store = NpgsqlDataSource.Create(database);
        var queries = new PipelineProgressQueries(store);

        // The clock starts at the first record consumed: loading the proxy and joining the group are start-up, not throughput.
        var clock = Stopwatch.StartNew();
        var lastProgress = TimeSpan.Zero;
        while (true)
        {
            if (worker.ExecuteTask is { IsCompleted: true } ended)
                throw new ScorerBenchException($"the scorer service stopped: {Failure(ended)}");
            var p = await queries.ScoringAsync(group, topic, modelId, ct);
            if (p.Reached(ends) && p.UnpublishedBatches == 0) break;
            if (clock.Elapsed - lastProgress > TimeSpan.FromSeconds(10))
            {
                lastProgress = clock.Elapsed;
                Console.Error.WriteLine(
                    $"  service: {p.Stored:N0}/{records.Count:N0} documents stored, {p.UnpublishedBatches} batches in the outbox");
            }
            if (clock.Elapsed > TimeSpan.FromHours(1)) throw new ScorerBenchException("the scorer service did not finish within an hour");
            await Task.Delay(20, ct);
        }
        var doneAt = Stopwatch.GetTimestamp();
        var pipeline = worker.Pipeline!;
        var seconds = (doneAt - pipeline.Statistics.FirstRecordTimestamp!.Value) / (double)Stopwatch.Frequency;
        await host.StopAsync(CancellationToken.None);
        var statistics = pipeline.Statistics;
        return new ServiceRun(statistics.Documents, statistics.Tokens, seconds, statistics.Batches, statistics.Stages, statistics.Fill,
            pipeline.ProxyBatches);
    }

    private static string Failure(Task task) => task.Exception?.GetBaseException().Message ?? "without an error";

    /// <summary>Produces the corpus to the topic; returns every partition's end offset.</summary>
    private static Dictionary<int, long> Ingest(InProcessKafkaCluster? kafka, string? bootstrap, string topic,
        IReadOnlyList<CorpusRecord> records)
    {
        using var producer = kafka is not null
            ? kafka.CreateProducer<string?, byte[]>(new ProducerConfig { EnableIdempotence = true })
            : new ProducerBuilder<string?, byte[]>(CorpusIngest.ProducerConfig(bootstrap!, TimeSpan.FromMinutes(2))).Build();
        var result = CorpusIngest.Run(records, producer, topic);
        producer.Flush(TimeSpan.FromMinutes(1));
        if (result.Failed > 0 || result.Sent != records.Count)
            throw new ScorerBenchException($"ingest sent {result.Sent} of {records.Count} documents: {result.FirstError}");
        if (kafka is not null)
            return Enumerable.Range(0, kafka.PartitionCount(topic))
                .ToDictionary(p => p, p => kafka.Watermarks(new TopicPartition(topic, p)).High.Value);
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Select(p => p.PartitionId).ToList();
        var config = new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "bench-watermarks" };
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(config).Build();
        return partitions.ToDictionary(p => p,
            p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);
    }

    private static async Task<BenchDatabase> OpenDatabaseAsync(string? given, CancellationToken ct)
    {
        if (given is not null) return new BenchDatabase(given, null, null);
        var dataDir = Directory.CreateTempSubdirectory("rw-bench-pg-").FullName;
        var server = new EmbeddedPostgres(new EmbeddedPostgresOptions { DataDirectory = dataDir });
        await server.StartAsync(ct);
        var name = new EmbeddedPostgresOptions().Database;
        await server.EnsureDatabaseAsync(name, ct);
        var connection = server.ConnectionStringFor(name);
        await using (await ScoreDatabase.OpenAsync(new ScoreDatabaseOptions { CommandLineConnection = connection }, null, ct)) { }
        return new BenchDatabase(connection, server, dataDir);
    }

    private sealed record BenchDatabase(string ConnectionString, EmbeddedPostgres? Server, string? DataDirectory) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            if (Server is not null) await Server.DisposeAsync();
            if (DataDirectory is not null && Directory.Exists(DataDirectory)) Directory.Delete(DataDirectory, recursive: true);
        }
    }

    // ---- results --------------------------------------------------------------------------------------------------------

    private sealed record DirectRun(long Documents, long Tokens, double Seconds, double TokeniseSeconds, ScoringStatistics Passes)
    {
        public double TokensPerSecond => Tokens / Math.Max(Seconds, 1e-9);

        public Dictionary<string, object?> ToJson() => new()
        {
            ["documents"] = Documents, ["tokens"] = Tokens, ["seconds"] = Math.Round(Seconds, 3),
            ["tokens_per_second"] = Math.Round(TokensPerSecond, 1),
            ["tokenise_seconds"] = Math.Round(TokeniseSeconds, 3), ["forward_passes"] = Passes.Batches, ["windows"] = Passes.Rows,
            ["padding_fraction"] = Math.Round(Passes.PaddingFraction, 4),
        };
    }

    private sealed record ServiceRun(long Documents, long Tokens, double Seconds, long Batches, ScorerStageTimes Stages,
        ScorerBatchFill Fill, ScoringStatistics Passes)
    {
        public double TokensPerSecond => Tokens / Math.Max(Seconds, 1e-9);

        public IEnumerable<(string Name, string Thread, double Seconds)> StageSeconds() =>
        [
            ("kafka poll", "loop", Stages.Poll.TotalSeconds), ("parse + tokenise", "loop", Stages.Read.TotalSeconds),
            ("plan + pack forward passes", "loop", Stages.Pack.TotalSeconds),
            ("wait for the proxy", "loop", Stages.WaitForProxy.TotalSeconds),
            ("statistics + windows + label", "loop", Stages.Label.TotalSeconds),
            ("encode rows + scored batch", "loop", Stages.Encode.TotalSeconds),
            ("PostgreSQL transaction", "loop", Stages.Store.TotalSeconds),
            ("labeller reservoir", "loop", Stages.Observe.TotalSeconds),
            ("forward passes", "proxy", Stages.Proxy.TotalSeconds),
            ("idle, waiting for a batch", "proxy", Stages.ProxyIdle.TotalSeconds),
        ];

        public Dictionary<string, object?> ToJson(int tokenBudget) => new()
        {
            ["documents"] = Documents, ["tokens"] = Tokens, ["seconds"] = Math.Round(Seconds, 3),
            ["tokens_per_second"] = Math.Round(TokensPerSecond, 1),
            ["micro_batches"] = Batches,
            ["stages_seconds"] = StageSeconds().ToDictionary(s => s.Name, s => Math.Round(s.Seconds, 3)),
            ["batches_closed"] = new Dictionary<string, long>
            {
                ["token_budget"] = Fill.ByTokenBudget, ["record_count"] = Fill.ByRecordCount, ["max_wait"] = Fill.ByMaxWait,
                ["caught_up"] = Fill.ByCaughtUp, ["stop"] = Fill.ByStop,
            },
            ["mean_batch_fill"] = Math.Round(Fill.MeanFill(tokenBudget), 4), ["forward_passes"] = Passes.Batches, ["windows"] = Passes.Rows,
            ["padding_fraction"] = Math.Round(Passes.PaddingFraction, 4),
        };
    }

    private static string Markdown(Dictionary<string, object?> result, DirectRun reference, ServiceRun service, int tokenBudget)
    {
        var lines = new List<string>
        {
            "# Scorer service against `lm score`", "",
            $"Measured {result["date"]} on {result["cpu"]}, {result["cores"]} cores, device {result["device"]}: " +
            $"proxy `{result["model"]}`, " +
            $"{result["documents"]:N0} documents of `{result["corpus"]}`, broker {result["broker"]}, PostgreSQL embedded unless given. " +
            "Both paths score the same tokens with the service's window batching; the service's time runs from its first record consumed " +
            "(after the proxy loaded and the group was joined) until PostgreSQL's offsets reach the end of the " +
            "topic and the outbox is empty.", "",
            "| path | documents | tokens | seconds | tokens/s | forward passes | padding |", "|---|---|---|---|---|---|---|",
            $"| `lm score` | {reference.Documents:N0} | {reference.Tokens:N0} | {reference.Seconds:F1} | " +
            $"{reference.TokensPerSecond:F0} | " +
            $"{reference.Passes.Batches:N0} | {reference.Passes.PaddingFraction:P1} |",
            $"| scorer service | {service.Documents:N0} | {service.Tokens:N0} | {service.Seconds:F1} | {service.TokensPerSecond:F0} | " +
            $"{service.Passes.Batches:N0} | {service.Passes.PaddingFraction:P1} |", "",
            $"**Ratio: {result["ratio"]}** of `lm score`'s tokens/s (goal ≥ 0.9): " +
            $"medians of {result["repeats"]} interleaved runs of each " +
            $"path (the table shows the median runs); ratio per run: {string.Join(", ", (double[])result["ratio_per_repeat"]!)}.", "",
            "Where the service's time went (each stage's wall time on its thread; the loop and the proxy run at the same time):", "",
            "| stage | thread | seconds | share of the run |", "|---|---|---|---|",
        };
        lines.AddRange(service.StageSeconds()
            .Select(s => $"| {s.Name} | {s.Thread} | {s.Seconds:F2} | {s.Seconds / service.Seconds:P1} |"));
        lines.Add("");
        lines.Add($"Micro-batches: {service.Fill.Batches:N0} handed to the proxy, " +
                  $"mean fill {service.Fill.MeanFill(tokenBudget):P0} of the {tokenBudget:N0}-token " +
                  $"budget; closed by the token budget {service.Fill.ByTokenBudget}, the record count {service.Fill.ByRecordCount}, " +
                  $"the maximum wait {service.Fill.ByMaxWait}, catching up {service.Fill.ByCaughtUp}, the stop {service.Fill.ByStop}. " +
                  $"`lm score` tokenised in {reference.TokeniseSeconds:F1} s.");
        lines.Add("");
        return string.Join('\n', lines);
    }
}

/// <summary>A benchmark run that cannot go on: the message says why.</summary>
internal sealed class ScorerBenchException(string message) : Exception(message);
