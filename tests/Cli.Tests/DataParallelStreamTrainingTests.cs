using System.Text.Json;
using Confluent.Kafka;
using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Contracts.Batches;
using Reweighting.Modeling.Checkpoints;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>`reweight train-stream --nproc 2` against a Kafka-protocol broker in another process (librdkafka's mock
/// cluster, held by this test process): two ranks, as two processes joined over Gloo, rank 0 reading scored-batches and
/// passing every record on, follow one `train-stream` process on the same stream step for step.</summary>
public sealed class DataParallelStreamTrainingTests : IDisposable
{
    private const int Vocab = 64;
    private const int Steps = 6;
    private readonly CliRunner.TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A mock cluster (one broker) living as long as the producer that made it; its bootstrap servers.</summary>
    private static (IProducer<string?, byte[]> Producer, string Bootstrap) MockCluster()
    {
        string? bootstrap = null;
        var config = new ProducerConfig { BootstrapServers = "unused:1" };
        config.Set("test.mock.num.brokers", "1");
        var producer = new ProducerBuilder<string?, byte[]>(config).SetLogHandler((_, m) =>
        {
            var at = m.Message.IndexOf("replaced with ", StringComparison.Ordinal);
            if (at >= 0) bootstrap = m.Message[(at + "replaced with ".Length)..].Trim();
        }).Build();
        for (var i = 0; i < 100 && bootstrap is null; i++) Thread.Sleep(100);
        return (producer, bootstrap ?? throw new InvalidOperationException("the mock cluster did not say where it listens"));
    }

    // Batches of three synthetic documents (two windows each), all on partition 0 so that every run reads them in one order.
    private static void Produce(IProducer<string?, byte[]> producer, int batches)
    {
        for (var b = 0; b < batches; b++)
        {
            var rng = new Random(b + 11);
            var docs = Enumerable.Range(0, 3).Select(d =>
            {
                var ids = Enumerable.Range(0, 24).Select(i => d == 2 ? rng.Next(0, 62) : (b + i) % 40).ToArray();
                var mean = d == 2 ? 5 + rng.NextDouble() : 2 + rng.NextDouble();
                return new ScoredDocument($"doc-{b}-{d}", "web", ids.Length, ids.Length * 4L, mean, 1 + rng.NextDouble(),
                    d == 2 ? SampleLabel.Noisy : SampleLabel.Easy, 0.9f, [0.9f, 0.05f, 0.05f],
                    WindowedTokens.FromWindows(ids[..13], ids[12..]));
            }).ToList();
            var batch = new ScoredBatch(new Guid($"00000000-0000-0000-0000-{b:D12}"), "tiny-proxy", null,
                new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(b), 3, docs);
            producer.ProduceAsync(new TopicPartition(Topics.ScoredBatches, 0),
                new Message<string?, byte[]> { Key = batch.BatchId.ToString("D"), Value = ScoredBatchCodec.Encode(batch) })
                .GetAwaiter().GetResult();
        }
        producer.Flush(TimeSpan.FromSeconds(10));
    }

    private static string[] Arguments(string bootstrap, string strategy, int steps, string checkpoint, string log, int ranks,
        params string[] more) =>
    [
        "train-stream", "--bootstrap-servers", bootstrap, "--strategy", strategy, "--steps", steps.ToString(),
        "--checkpoint-dir", checkpoint, "--log", log, "--device", "cpu", "--json", "--nproc", ranks.ToString(),
        "--dashboard-urls", "http://127.0.0.1:0",
        "--Trainer:RecordToDatabase=false", $"--Trainer:VocabSize={Vocab}", $"--Trainer:EndOfTextToken={Vocab - 1}",
        "--Trainer:Training:BatchSize=4", "--Trainer:Training:SequenceLength=16", "--Trainer:Training:Seed=5",
        "--Trainer:PollTimeout=00:00:00.100", "--Trainer:StopWhenIdleFor=00:00:20",
        $"--Trainer:ConsumerGroup=trainer-{Path.GetFileName(checkpoint)}", .. more,
    ];

    private (double[] Losses, float[] Parameters, string Stderr, string Stdout, double SyncSeconds) Train(string bootstrap, string strategy,
        int ranks)
    {
        var name = $"{strategy}-{ranks}";
        var checkpoint = Path.Combine(_dir.Path, name);
        var log = Path.Combine(_dir.Path, name + ".jsonl");
        var run = CliRunner.RunWithin(TimeSpan.FromMinutes(4), Arguments(bootstrap, strategy, Steps, checkpoint, log, ranks));
        run.ExitCode.Should().Be(0, run.Stderr);
        var lines = File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        using var model = Checkpoint.LoadModel(checkpoint);
        var parameters = model.Parameters().SelectMany(p => p.ToArray<float>()).ToArray();
        return (lines.Select(l => l.GetProperty("loss").GetDouble()).ToArray(), parameters, run.Stderr, run.Stdout,
            lines[^1].GetProperty("sync_s").GetDouble());
    }

    [Fact]
    public async Task Sigterm_to_the_launcher_stops_both_ranks_after_the_same_step_and_the_restart_continues_there()
    {
        var (producer, bootstrap) = MockCluster();
        using (producer)
        {
            Produce(producer, 2000);
            var checkpoint = Path.Combine(_dir.Path, "stopped");
            var log = Path.Combine(_dir.Path, "stopped.jsonl");
            using var launcher = CliRunner.Start(null, Arguments(bootstrap, "linupper", 100_000, checkpoint, log, 2));
            var stderr = launcher.StandardError.ReadToEndAsync();
            _ = launcher.StandardOutput.ReadToEndAsync();
            try
            {
                await CliRunner.WaitForStepsAsync(log, 5, launcher, "the ranks train before the launcher is stopped");

                using (var term = System.Diagnostics.Process.Start("kill", ["-TERM", launcher.Id.ToString()]))
                    await term.WaitForExitAsync();
                launcher.WaitForExit(TimeSpan.FromSeconds(90)).Should().BeTrue("both ranks stop after the step they agree on");
                launcher.ExitCode.Should().Be(130, await stderr);

                var stoppedAt = File.ReadAllLines(log).Length;
                var resumed = CliRunner.RunWithin(TimeSpan.FromMinutes(3),
                    Arguments(bootstrap, "linupper", stoppedAt + 3, checkpoint, log, 2));
                resumed.ExitCode.Should().Be(0, resumed.Stderr);
                File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64())
                    .Should().Equal(Enumerable.Range(1, stoppedAt + 3).Select(i => (long)i),
                        "rank 0's checkpoint holds the step both stopped after");
            }
            finally
            {
                if (!launcher.HasExited) launcher.Kill(entireProcessTree: true);
            }
        }
    }

    // A learning rate that does not depend on the run's length, so runs of different lengths take the same steps (with
    // uniform weights: linupper's temperature anneals over the run's length).
    private static readonly string[] Constant =
        ["--Trainer:Training:WarmupSteps=2", "--Trainer:Training:LearningRate=0.001", "--Trainer:Training:MinLearningRate=0.001"];

    [Fact]
    public async Task When_a_rank_is_killed_the_other_fails_clearly_and_a_restart_of_both_trains_each_batch_once()
    {
        var (producer, bootstrap) = MockCluster();
        using (producer)
        {
            Produce(producer, 2000);
            var checkpoint = Path.Combine(_dir.Path, "killed");
            var killedLog = Path.Combine(_dir.Path, "killed.jsonl");
            var (ranks, stderr) = CliRunner.StartRanks(2,
                Arguments(bootstrap, "uniform", 100_000, checkpoint, killedLog, 1, [.. Constant, "--Trainer:Training:CheckpointEvery=3"]));
            try
            {
                await CliRunner.WaitForStepsAsync(killedLog, 7, ranks[0], "both ranks train before one is killed");

                ranks[1].Kill();
                ranks[0].WaitForExit(TimeSpan.FromSeconds(90)).Should().BeTrue("rank 0 fails in its next collective");
                ranks[0].ExitCode.Should().Be(1);
                (await stderr).Should().Contain("The trainer failed");
            }
            finally
            {
                foreach (var r in ranks.Where(r => !r.HasExited)) r.Kill(entireProcessTree: true);
            }

            // Both restart from rank 0's last checkpoint, a few steps past where rank 0 had got to, and follow one process
            // that was never interrupted: the batches after the checkpoint are trained again, each once.
            var steps = File.ReadAllLines(killedLog).Length + 3;
            var resumedLog = Path.Combine(_dir.Path, "resumed.jsonl");
            var resumed = CliRunner.RunWithin(TimeSpan.FromMinutes(3),
                Arguments(bootstrap, "uniform", steps, checkpoint, resumedLog, 2, [.. Constant, "--Trainer:Training:CheckpointEvery=3"]));
            resumed.ExitCode.Should().Be(0, resumed.Stderr);
            var uninterruptedLog = Path.Combine(_dir.Path, "uninterrupted.jsonl");
            var uninterrupted = CliRunner.RunWithin(TimeSpan.FromMinutes(3),
                Arguments(bootstrap, "uniform", steps, Path.Combine(_dir.Path, "uninterrupted"), uninterruptedLog, 1, Constant));
            uninterrupted.ExitCode.Should().Be(0, uninterrupted.Stderr);

            static (long Step, double Loss)[] Read(string log) => File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement)
                .Select(e => (e.GetProperty("step").GetInt64(), e.GetProperty("loss").GetDouble())).ToArray();
            var after = Read(resumedLog);
            var reference = Read(uninterruptedLog).ToDictionary(x => x.Step, x => x.Loss);
            var first = (int)after[0].Step;
            first.Should().BeGreaterThan(6).And.Be((first - 1) / 3 * 3 + 1, "the restart continues after a checkpointed step");
            after.Select(x => x.Step).Should().Equal(Enumerable.Range(first, steps - first + 1).Select(i => (long)i));
            foreach (var (step, loss) in after) loss.Should().BeApproximately(reference[step], 1e-5, $"step {step}");
        }
    }

    [Fact]
    public void Two_train_stream_ranks_follow_one_process_on_the_same_stream()
    {
        var (producer, bootstrap) = MockCluster();
        using (producer)
        {
            Produce(producer, 30);
            foreach (var strategy in new[] { "uniform", "linupper" })
            {
                var single = Train(bootstrap, strategy, 1);
                var pair = Train(bootstrap, strategy, 2);

                pair.Stderr.Should().Contain("starting 2 ranks");
                pair.Losses.Should().HaveCount(Steps, "rank 0 alone logs, once per step");
                single.Losses.Should().HaveCount(Steps);
                for (var step = 0; step < Steps; step++)
                    pair.Losses[step].Should().BeApproximately(single.Losses[step], 1e-5, $"{strategy}, step {step + 1}");
                pair.Parameters.Zip(single.Parameters, (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(1e-4f, strategy);
                JsonDocument.Parse(pair.Stdout).RootElement.GetProperty("stop_reason").GetString().Should().Be("completed",
                    "rank 0 prints how the run ended");
                pair.SyncSeconds.Should().BeGreaterThan(0, "rank 0 logs the time it spent passing the stream on");
                single.SyncSeconds.Should().Be(0);
            }
        }
    }
}
