using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Storage.Queries;
using Reweighting.Testing.Postgres;
using Xunit;

namespace Reweighting.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class TrainingRunQueryTests(PostgresCluster cluster)
{
    [Fact]
    public async Task Recording_a_resumed_run_s_steps_again_overwrites_its_rows_and_the_progress_query_reads_them()
    {
        var db = await cluster.CreateDatabaseAsync();
        var runs = new TrainingRunQueries(db);
        var progress = new PipelineProgressQueries(db);
        var phi = new ClusterParameters("run-1", 2, [[0.1, 0.2], [1.1, 1.2]], [3.0, 1.5], [0.7, 0.3], ClusterParameterSource.GmmInit);

        await runs.StartRunAsync("run-1", "gpt tiny", "meta-em", """{"Strategy": "meta-em"}""");
        await runs.RecordMetricsAsync("run-1", [1, 2, 2], ["loss", "loss", "valid_loss"], [3.5, 3.25, 3.4]);
        await runs.RecordClusterParametersAsync(phi);
        (await progress.TrainingRunAsync("run-1")).Should().Be(new TrainingRunProgress("running", 2));

        // A resume repeats step 2 with other values and marks the run running again.
        await runs.StartRunAsync("run-1", "gpt tiny", "meta-em", """{"Strategy": "meta-em", "resumed": true}""");
        await runs.RecordMetricsAsync("run-1", [2, 3], ["loss", "loss"], [3.2, 3.0]);
        await runs.RecordClusterParametersAsync(phi with { Pis = [0.6, 0.4] });
        await runs.FinishRunAsync("run-1", failed: false);

        (await TestData.DumpAsync(db, "SELECT step, name, value FROM training_metrics WHERE run_id = 'run-1' ORDER BY name, step"))
            .Should().Equal("(1,loss,3.5)", "(2,loss,3.2)", "(2,valid_loss,3.4)", "(3,loss,3)");
        (await TestData.DumpAsync(db, "SELECT step, source::text, pis FROM cluster_parameters WHERE run_id = 'run-1'"))
            .Should().Equal("(2,gmm-init,\"{0.6,0.4}\")");
        (await TestData.DumpAsync(db, "SELECT status, config->>'resumed', finished_at IS NOT NULL FROM training_runs"))
            .Should().Equal("(finished,true,t)");
        (await progress.TrainingRunAsync("run-1")).Should().Be(new TrainingRunProgress("finished", 3));
    }

    [Fact]
    public async Task Metric_columns_of_different_lengths_are_refused()
    {
        var runs = new TrainingRunQueries(await cluster.CreateDatabaseAsync());

        var act = () => runs.RecordMetricsAsync("run-1", [1, 2], ["loss"], [3.5, 3.25]);

        await act.Should().ThrowAsync<ArgumentException>().WithMessage("*2 steps, 1 names, 2 values*");
    }
}
