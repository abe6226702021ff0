using FluentAssertions;
using Reweighting.Cli.Demo;
using Reweighting.Testing.Bus;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>The demo's stages end on what PostgreSQL holds, whatever the control bus does: its events dropped or late,
/// its start slow, or a stage that cannot finish in its bound. Each test runs the demo in this process on a proxy the
/// fixture trained once.</summary>
public sealed class DemoStageTests(DemoStageTests.TrainedProxy proxy) : IClassFixture<DemoStageTests.TrainedProxy>
{
    private const int Steps = 2;

    [Fact]
    public async Task Scoring_and_training_finish_with_every_count_right_when_the_bus_delivers_nothing()
    {
        var outcome = await RunAsync(ControlBusFaults.DropDelivery());

        outcome.Scoring.BusRecords.Should().Be(0, "the fault really dropped every event");
        outcome.Scoring.ScorerStartedHeard.Should().BeFalse();
        ShouldBeComplete(outcome);
    }

    [Fact]
    public async Task Scoring_and_training_finish_with_every_count_right_when_the_bus_delivers_late()
    {
        var outcome = await RunAsync(ControlBusFaults.DelayDelivery(TimeSpan.FromSeconds(3)));
        ShouldBeComplete(outcome);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(300)]
    [InlineData(1500)]
    public async Task A_slow_bus_start_loses_no_event_because_services_start_after_the_bus(int startDelayMs)
    {
        var outcome = await RunAsync(ControlBusFaults.SlowStart(TimeSpan.FromMilliseconds(startDelayMs)), dashboard: true);

        outcome.Scoring.BusHealthy.Should().BeTrue("the bus started every endpoint, the dashboard's included, before any service connected or published");
        outcome.Scoring.ScorerStartedHeard.Should().BeTrue("the scorer publishes ScorerStarted first, and it must reach the consumer");
        outcome.Scoring.BusRecords.Should().Be(outcome.Scoring.Documents + outcome.Scoring.DeadLetters, "every BatchScored event is delivered");
        ShouldBeComplete(outcome);
    }

    [Fact]
    public async Task A_stage_past_its_bound_fails_with_one_line_saying_what_the_database_holds()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var run = new DemoRun(Settings(null) with { ScoringBound = new StageBound(TimeSpan.FromSeconds(1), TimeSpan.Zero, TimeSpan.FromMinutes(1)) });

        var failure = await run.Invoking(r => r.RunAsync(CancellationToken.None)).Should().ThrowAsync<StageFailedException>();

        failure.Which.Message.Should().Contain("scoring did not finish within its bound").And.Contain("the database holds").And.NotContain("\n");
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(60), "the bound ends the stage, not a hang");
    }

    private void ShouldBeComplete(DemoOutcome outcome)
    {
        outcome.Scoring.Documents.Should().Be(proxy.Streamed, "every streamed document is stored");
        outcome.StoredDocuments.Should().Be(proxy.Streamed);
        outcome.Scoring.DeadLetters.Should().Be(2, "both malformed records are dead-lettered");
        outcome.Scoring.GmmVersions.Should().BeGreaterThanOrEqualTo(1);
        outcome.Runs.Select(r => r.Run.Strategy).Should().Equal("uniform", "meta-em", "uniform");
        outcome.Runs.Select(r => r.Run.Name).Should().Equal("uniform", "meta-em", "filter");
        outcome.Runs.Should().OnlyContain(r => r.Run.Steps == Steps);
    }

    private async Task<DemoOutcome> RunAsync(Action<MassTransit.IBusRegistrationConfigurator> bus, bool dashboard = false)
    {
        var run = new DemoRun(Settings(bus) with { Dashboard = dashboard });
        (await run.RunAsync(CancellationToken.None)).Should().Be(0);
        return run.Outcome!;
    }

    private DemoSettings Settings(Action<MassTransit.IBusRegistrationConfigurator>? bus)
    {
        var dir = proxy.NewDirectory();
        return new DemoSettings
        {
            Documents = TrainedProxy.Documents, Proxy = proxy.Directory, TrainSteps = Steps, Dashboard = false, ControlBus = bus,
            OutDirectory = Path.Combine(dir, "out"), PgData = Path.Combine(dir, "pg"),
        };
    }

    /// <summary>One demo run that trains the proxy the tests score with, on the same generated corpus.</summary>
    public sealed class TrainedProxy : IAsyncLifetime
    {
        public const int Documents = 300;
        private readonly CliRunner.TempDirectory _root = new();
        private int _runs;

        public string Directory { get; private set; } = "";

        /// <summary>Documents the demo streams (the corpus less its validation set and its reference).</summary>
        public long Streamed { get; private set; }

        public string NewDirectory() => Path.Combine(_root.Path, $"run-{Interlocked.Increment(ref _runs)}");

        public async Task InitializeAsync()
        {
            var outDir = Path.Combine(_root.Path, "proxy");
            var run = new DemoRun(new DemoSettings
            {
                Documents = Documents, ProxySteps = 40, TrainSteps = Steps, Dashboard = false, OutDirectory = outDir, PgData = Path.Combine(_root.Path, "proxy-pg"),
            });
            (await run.RunAsync(CancellationToken.None)).Should().Be(0);
            Streamed = Commands.CorpusLoading.Read(Path.Combine(outDir, "corpus.jsonl"))
                .Count(r => new DemoSettings().PartOf(r.Id) == DemoPart.Stream);
            run.Outcome!.StoredDocuments.Should().Be(Streamed);
            Directory = System.IO.Directory.GetDirectories(outDir, "proxy-*").Single();

            // The proxy is trained on the clean reference, with cross-fitted folds over exactly its documents; the reference
            // holds no injected noise and none of the validation set.
            var folds = Reweighting.Modeling.Checkpoints.CrossFitFolds.Load(Directory)!;
            folds.Count.Should().Be(Commands.ProxyFolds.DefaultCount);
            var reference = Commands.CorpusLoading.Read(Path.Combine(outDir, "reference.jsonl"));
            var truth = Reweighting.Text.Corpus.CorpusLabels.Read(Path.Combine(outDir, "corpus.jsonl"));
            reference.Should().NotBeEmpty().And.OnlyContain(r => new DemoSettings().PartOf(r.Id) == DemoPart.Reference
                                                                 && !truth[r.Id].Noisy && folds.FoldOf(r.Text) != null);
            folds.Documents.Should().Be(reference.Select(r => r.Text).Distinct().Count());
        }

        public Task DisposeAsync()
        {
            _root.Dispose();
            return Task.CompletedTask;
        }
    }
}
