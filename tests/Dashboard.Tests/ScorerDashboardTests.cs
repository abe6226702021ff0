using Confluent.Kafka;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Reweighting.Contracts;
using Reweighting.Contracts.Documents;
using Reweighting.InProcessKafka;
using Reweighting.Scorer;
using Reweighting.Scorer.Tests;
using Reweighting.Testing.Postgres;
using Xunit;

namespace Reweighting.Dashboard.Tests;

/// <summary>The real scorer worker (tiny proxy, the in-process broker, real PostgreSQL) under its dashboard: the figures on
/// /metrics come from the worker's hooks and events, and /charts reads the rows it stored.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ScorerDashboardTests(PostgresCluster postgres)
{
    /// <summary>A scorer host with its dashboard, fed 20 documents and one oversize record.</summary>
    internal static async Task<DashboardHost> StartScorerAsync(PostgresCluster postgres)
    {
        var kafka = new InProcessKafkaCluster();
        kafka.CreateTopic(Topics.Documents, 2);
        kafka.CreateTopic(Topics.DocumentsDeadLetter, 1);
        kafka.CreateTopic(Topics.ScoredBatches, 2);
        var db = await postgres.CreateDatabaseAsync();
        var dashboard = await DashboardHost.StartAsync(DashboardComponents.Scorer, builder =>
        {
            builder.Services.AddSingleton<IScorerKafkaClients>(new InProcessScorerKafkaClients(kafka));
            builder.Services.AddScorer(builder.Configuration);
        }, new Dictionary<string, string?>
        {
            ["Scorer:ModelDirectory"] = TinyProxy.Directory, ["Scorer:Device"] = "cpu", ["Scorer:Database"] = db.ConnectionString,
            ["Scorer:GroupId"] = "dashboard", ["Scorer:TokenBudget"] = "200", ["Scorer:MaxWait"] = "00:00:00.100",
            ["Scorer:DrainTimeout"] = "00:00:03", ["Scorer:DocumentLimits:MaxTextChars"] = "1000", ["Scorer:Labelling:WarmUpDocuments"] = "10",
            ["Scorer:Outbox:PollInterval"] = "00:00:00.200",
        });
        using var producer = kafka.CreateProducer<string, byte[]>(new ProducerConfig());
        var random = new Random(3);
        for (var i = 0; i < 20; i++)
            await producer.ProduceAsync(Topics.Documents, new Message<string, byte[]> { Key = $"d{i}", Value = new DocumentRecord($"d{i}", Corpus.Text(random)).ToUtf8Json() });
        await producer.ProduceAsync(Topics.Documents, new Message<string, byte[]> { Key = "big", Value = new DocumentRecord("big", new string('x', 1001)).ToUtf8Json() });
        return dashboard;
    }

    /// <summary>/metrics once the 20 documents, the dead letter and a GMM version are in.</summary>
    internal static async Task<IReadOnlyDictionary<string, PromFamily>> WaitUntilScoredAsync(DashboardHost dashboard)
    {
        IReadOnlyDictionary<string, PromFamily> families = new Dictionary<string, PromFamily>();
        await DashboardHost.EventuallyAsync(async () =>
        {
            families = PrometheusTextParser.Parse(await dashboard.GetStringAsync("/metrics"));
            return families["reweight_documents_scored_total"].Samples[0].Value == 20 && families["reweight_dead_letters_total"].Samples[0].Value == 1
                && families.Reports("reweight_gmm_version");
        }, "20 documents, 1 dead letter and a GMM version on /metrics", timeoutMs: 60_000);
        return families;
    }

    [Fact]
    public async Task A_running_scorer_reports_its_documents_tokens_latency_and_gmm_version_and_its_rows_become_charts()
    {
        await using var dashboard = await StartScorerAsync(postgres);

        var families = await WaitUntilScoredAsync(dashboard);

        families["reweight_tokens_scored_total"].Samples[0].Value.Should().BeGreaterThan(20);
        var latency = families["reweight_batch_latency_seconds"].Samples;
        latency.Single(s => s.Name == "reweight_batch_latency_seconds_count").Value.Should().Be(
            families["reweight_batches_scored_total"].Samples[0].Value, "every stored batch's latency reaches the summary");
        latency.Single(s => s.Name == "reweight_batch_latency_seconds" && s.Labels["quantile"] == "0.5").Value.Should().BeInRange(0, 30);
        families["reweight_gmm_version"].Samples[0].Value.Should().BeGreaterThanOrEqualTo(1);
        families["reweight_up"].Samples[0].Value.Should().Be(1);
        (await dashboard.Http.GetAsync("/health")).IsSuccessStatusCode.Should().BeTrue();

        var charts = await dashboard.GetStringAsync("/charts");
        charts.Should().Contain("report-section").And.Contain("<svg").And.NotContain("No scored documents yet");
    }
}
