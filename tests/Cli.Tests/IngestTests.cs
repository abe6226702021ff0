using System.Text;
using Confluent.Kafka;
using FluentAssertions;
using Reweighting.Cli.Streaming;
using Reweighting.Contracts.Documents;
using Reweighting.InProcessKafka;
using Reweighting.Text.Corpus;
using Xunit;

namespace Reweighting.Cli.Tests;

public sealed class IngestTests
{
    private static List<CorpusRecord> Records(int n) =>
        Enumerable.Range(0, n).Select(i => new CorpusRecord($"doc-{i}", $"text of document {i} ünïcode", i % 2 == 0 ? "wiki" : null, "test")).ToList();

    [Fact]
    public void Every_document_becomes_one_keyed_json_record_the_scorer_can_parse()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("documents", 3);
        using var producer = cluster.CreateProducer<string?, byte[]>(CorpusIngest.ProducerConfig("memory", TimeSpan.FromSeconds(5)));
        var result = CorpusIngest.Run(Records(50), producer, "documents");
        result.Sent.Should().Be(50);
        result.Failed.Should().Be(0);
        result.PerPartition.Values.Sum().Should().Be(50);
        result.PerPartition.Keys.Should().HaveCountGreaterThan(1, "keys spread over the partitions");
        var stored = cluster.ReadTopic("documents").ToList();
        stored.Should().HaveCount(50);
        foreach (var record in stored)
        {
            var key = Encoding.UTF8.GetString(record.Message.Key!);
            var parsed = DocumentRecord.Parse(record.Message.Value, key, new DocumentLimits());
            parsed.IsValid.Should().BeTrue(parsed.DeadLetter?.Message);
            parsed.Record!.Id.Should().Be(key);
            parsed.Record.Text.Should().StartWith("text of document").And.EndWith("ünïcode");
        }
    }

    [Fact]
    public void Undelivered_documents_are_counted_as_failures_not_as_sent()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("documents", 1);
        using var producer = cluster.CreateProducer<string?, byte[]>(CorpusIngest.ProducerConfig("memory", TimeSpan.FromSeconds(5)));
        cluster.FailNextProduces(3, ErrorCode.Local_AllBrokersDown);
        var result = CorpusIngest.Run(Records(10), producer, "documents");
        result.Failed.Should().Be(3);
        result.Sent.Should().Be(7);
        result.FirstError.Should().Contain("AllBrokersDown");
        cluster.ReadTopic("documents").Should().HaveCount(7);
    }

    [Fact]
    public void The_sample_corpus_command_writes_labelled_noise_over_four_domains()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sample-{Guid.NewGuid():N}.jsonl");
        try
        {
            var run = CliRunner.Run("corpus", "sample", "--out", path, "--documents", "40", "--noise", "0.25", "--seed", "2");
            run.ExitCode.Should().Be(0, run.Stderr);
            var rows = File.ReadAllLines(path).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
            rows.Should().HaveCount(40);
            rows.Count(r => r.GetProperty("label").GetString() == "noisy").Should().Be(10);
            rows.Select(r => r.GetProperty("domain").GetString()).Distinct().Should().BeEquivalentTo(["prose", "code", "howto", "dialogue"]);
            CliRunner.Run("corpus", "sample", "--out", path, "--documents", "0").ExitCode.Should().NotBe(0);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_command_needs_a_broker_address_and_fails_clearly_when_none_answers()
    {
        var noServers = CliRunner.Run("ingest", "corpus.jsonl");
        noServers.ExitCode.Should().NotBe(0);
        noServers.Stderr.Should().Contain("--bootstrap-servers");
        var path = Path.Combine(Path.GetTempPath(), $"ingest-{Guid.NewGuid():N}.jsonl");
        File.WriteAllText(path, "{\"id\": \"a\", \"text\": \"hello\"}\n");
        try
        {
            // Nothing listens on port 1: the record times out and the command says so.
            var unreachable = CliRunner.Run("ingest", path, "--bootstrap-servers", "127.0.0.1:1", "--delivery-timeout", "2");
            unreachable.ExitCode.Should().NotBe(0);
            unreachable.Stderr.Should().Contain("not delivered");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
