using Confluent.Kafka;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using Reweighting.InProcessKafka;
using Reweighting.Testing.Postgres;
using Reweighting.Trainer.Hosting;
using Xunit;

namespace Reweighting.Trainer.Tests;

[Collection(PostgresCollection.Name)]
public sealed class TrainerWorkerTests(PostgresCluster postgres)
{
    private static IHost Host(InProcessKafkaCluster cluster, Dictionary<string, string?> settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSingleton<ITrainerConsumerFactory>(new InProcessTrainerConsumers(cluster));
        builder.Services.AddTrainer(builder.Configuration);
        return builder.Build();
    }

    [Fact]
    public async Task The_worker_trains_from_configuration_records_the_run_and_stops_the_host_when_done()
    {
        await using var db = await postgres.CreateDatabaseAsync();
        var cluster = ScoredStream.Cluster(partitions: 2);
        ScoredStream.Produce(cluster, TrainerHarness.Batches(12));
        using var h = new TrainerHarness();
        using var host = Host(cluster, new()
        {
            ["Trainer:RunId"] = "worker-1",
            ["Trainer:Strategy"] = "linupper",
            ["Trainer:ModelPreset"] = "tiny",
            ["Trainer:VocabSize"] = "64",
            ["Trainer:EndOfTextToken"] = "63",
            ["Trainer:CheckpointDirectory"] = Path.Combine(h.Directory, "ckpt"),
            ["Trainer:Training:Steps"] = "5",
            ["Trainer:Training:BatchSize"] = "2",
            ["Trainer:Training:SequenceLength"] = "16",
            ["Trainer:Training:WarmupSteps"] = "1",
            ["Trainer:PollTimeout"] = "00:00:00.02",
            ["Trainer:StopWhenIdleFor"] = "00:00:01",
            ["Trainer:Database"] = db.ConnectionString,
        });
        var worker = host.Services.GetRequiredService<TrainerWorker>();
        await host.StartAsync();
        await host.WaitForShutdownAsync().WaitAsync(TimeSpan.FromSeconds(60));

        worker.Result!.Step.Should().Be(5);
        worker.Result.Stop.Should().Be(TrainerStopReason.Completed);
        File.Exists(Path.Combine(h.Directory, "ckpt", "stream_state.json")).Should().BeTrue();
        await using var cmd = db.CreateCommand("SELECT status || ' ' || strategy FROM training_runs WHERE run_id = 'worker-1'");
        (await cmd.ExecuteScalarAsync()).Should().Be("finished linupper");
        await using var metrics = db.CreateCommand("SELECT count(*) FROM training_metrics WHERE run_id = 'worker-1' AND name = 'loss'");
        (await metrics.ExecuteScalarAsync()).Should().Be(5L);
    }

    [Fact]
    public async Task Bad_settings_stop_the_host_at_start_with_the_setting_named()
    {
        var cluster = ScoredStream.Cluster();
        using var host = Host(cluster, new() { ["Trainer:Strategy"] = "best-guess", ["Trainer:RecordToDatabase"] = "false" });
        var act = () => host.StartAsync();
        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain("Trainer:Strategy 'best-guess' is unknown");
    }

    [Theory]
    [InlineData("Trainer:MetaGradient", "jvp", "Trainer:MetaGradient 'jvp' is unknown")]
    [InlineData("Trainer:MetaSequences", "0", "Trainer:MetaSequences must be positive")]
    [InlineData("Trainer:GmmComponents", "-1", "Trainer:GmmComponents must be 0 (chosen by BIC) or positive")]
    public async Task Bad_meta_gradient_settings_stop_the_host_at_start_with_the_setting_named(string key, string value, string message)
    {
        var cluster = ScoredStream.Cluster();
        using var host = Host(cluster, new() { ["Trainer:Strategy"] = "meta-em", ["Trainer:ValidationFraction"] = "0.1", [key] = value, ["Trainer:RecordToDatabase"] = "false" });
        var act = () => host.StartAsync();
        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain(message);
    }
}
