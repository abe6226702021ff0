using Confluent.Kafka;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Reweighting.Contracts;
using Reweighting.Contracts.Batches;
using Reweighting.Contracts.Control;
using Reweighting.Contracts.Documents;
using Reweighting.InProcessKafka;
using Reweighting.Messaging;
using Reweighting.Testing.Postgres;
using Xunit;
using Xunit.Abstractions;

namespace Reweighting.Scorer.Tests;

[Collection(PostgresCollection.Name)]
public sealed class ScorerWorkerTests(PostgresCluster postgres, ITestOutputHelper output)
{
    /// <summary>Control events received from the bus.</summary>
    public sealed class EventSink
    {
        public System.Collections.Concurrent.ConcurrentQueue<ControlEvent> Events { get; } = new();
    }

    public sealed class Recorder(EventSink sink) : ControlEventConsumer
    {
        protected override Task HandleAsync(ControlEvent controlEvent, CancellationToken ct)
        {
            sink.Events.Enqueue(controlEvent);
            return Task.CompletedTask;
        }
    }

    private IHost Build(InProcessKafkaCluster kafka, params string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<ILoggerFactory>(new TestOutputLoggers(output));
        builder.Services.AddSingleton<IScorerKafkaClients>(new InProcessScorerKafkaClients(kafka));
        builder.Services.AddSingleton<EventSink>();
        builder.Services.AddControlBus(x => x.AddConsumer<Recorder>());
        builder.Services.AddScorer(builder.Configuration);
        return builder.Build();
    }

    [Fact]
    public async Task The_hosted_worker_takes_its_settings_from_the_command_line_scores_labels_relays_and_stops_within_its_drain_time()
    {
        var kafka = new InProcessKafkaCluster();
        kafka.CreateTopic(Topics.Documents, 2);
        kafka.CreateTopic(Topics.DocumentsDeadLetter, 1);
        kafka.CreateTopic(Topics.ScoredBatches, 2);
        var db = await postgres.CreateDatabaseAsync();
        using var host = Build(kafka,
            $"--Scorer:ModelDirectory={TinyProxy.Directory}", "--Scorer:Device=cpu", $"--Scorer:Database={db.ConnectionString}",
            "--Scorer:GroupId=hosted", "--Scorer:TokenBudget=200", "--Scorer:MaxWait=00:00:00.100", "--Scorer:DrainTimeout=00:00:03",
            "--Scorer:DocumentLimits:MaxTextChars=1000", "--Scorer:Labelling:WarmUpDocuments=10", "--Scorer:Outbox:PollInterval=00:00:00.200");
        var settings = host.Services.GetRequiredService<IOptions<ScorerOptions>>().Value;
        settings.TokenBudget.Should().Be(200);
        settings.DocumentLimits.MaxTextChars.Should().Be(1000);
        settings.EffectiveModelId.Should().Be("tiny-proxy");

        await host.StartAsync();
        using (var producer = kafka.CreateProducer<string, byte[]>(new ProducerConfig()))
        {
            var random = new Random(3);
            for (var i = 0; i < 20; i++)
                await producer.ProduceAsync(Topics.Documents, new Message<string, byte[]> { Key = $"h{i}", Value = new DocumentRecord($"h{i}", Corpus.Text(random)).ToUtf8Json() });
            await producer.ProduceAsync(Topics.Documents, new Message<string, byte[]> { Key = "big", Value = new DocumentRecord("big", new string('x', 1001)).ToUtf8Json() });
        }
        await ScorerHarness.WaitUntilAsync(async () =>
        {
            await using var cmd = db.CreateCommand("SELECT count(*) FROM sample_scores");
            return (long)(await cmd.ExecuteScalarAsync())! == 20;
        }, what: "20 stored scores");
        await ScorerHarness.WaitUntilAsync(() => Task.FromResult(kafka.ReadTopic(Topics.DocumentsDeadLetter).Count == 1), what: "the oversize record dead-lettered");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await host.StopAsync();
        clock.Elapsed.Should().BeLessThan(settings.DrainTimeout);
        host.Services.GetRequiredService<ScorerWorker>().Pipeline!.Statistics.Documents.Should().Be(20);
        kafka.GroupAssignment("hosted").Should().BeEmpty();
        DeadLetterRecord.FromUtf8Json(kafka.ReadTopic(Topics.DocumentsDeadLetter)[0].Message.Value).Reason.Should().Be(DeadLetterReason.OversizeText);

        // The relay published every committed batch; the labeller fitted version 1 after its warm-up of 10 documents.
        var relayed = kafka.ReadTopic(Topics.ScoredBatches).Select(r => ScoredBatchCodec.Decode(r.Message.Value)).ToList();
        relayed.SelectMany(b => b.Documents).Select(d => d.Id).Should().BeEquivalentTo(Enumerable.Range(0, 20).Select(i => $"h{i}"));
        await using (var versions = db.CreateCommand("SELECT count(*) FROM gmm_models"))
            ((long)(await versions.ExecuteScalarAsync())!).Should().BeGreaterThanOrEqualTo(1);
        host.Services.GetRequiredService<ScorerWorker>().Labeller!.Current.Should().NotBeNull();

        // Its control events reached the bus.
        var sink = host.Services.GetRequiredService<EventSink>();
        await ScorerHarness.WaitUntilAsync(() => Task.FromResult(sink.Events.OfType<ScorerStopped>().Any()), what: "ScorerStopped on the bus");
        sink.Events.OfType<ScorerStarted>().Should().ContainSingle().Which.ScorerModel.Should().Be("tiny-proxy");
        sink.Events.OfType<BatchScored>().Sum(b => b.Documents).Should().Be(20);
        sink.Events.OfType<GmmRefitted>().Should().NotBeEmpty();
        sink.Events.OfType<ScorerStopped>().Single().Reason.Should().Be("shutdown");
    }

    [Fact]
    public async Task An_invalid_setting_stops_the_host_at_start_up_naming_the_setting()
    {
        var kafka = new InProcessKafkaCluster();
        using var host = Build(kafka, $"--Scorer:ModelDirectory={TinyProxy.Directory}", "--Scorer:TokenBudget=0");

        var start = () => host.StartAsync();

        (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain("Scorer:TokenBudget");
    }
}
