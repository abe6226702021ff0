using System.Text.Json;
using FluentAssertions;
using Reweighting.Modeling.Checkpoints;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>`reweight train --corpus ... --nproc 2`: two ranks, as two processes joined over Gloo, each training half of
/// every global batch, follow one process on the whole batch with the same seed, for uniform training, a strategy that
/// weighs the model's own losses (linupper, whose softmax and 2/M bound span the global batch) and meta-em (whose
/// meta-update all-gathers the alignments), with and without gradient accumulation.</summary>
public sealed class DataParallelTrainingTests : IDisposable
{
    private const int Steps = 10;
    private readonly CliRunner.TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Corpus(string name, int documents, int seed)
    {
        var path = Path.Combine(_dir.Path, name);
        var rng = new Random(seed);
        string[] words = ["alpha", "beta", "gamma", "delta", "tensor", "loss", "token", "model", "score", "batch", "{", "}", "=>", "0x1f"];
        File.WriteAllLines(path, Enumerable.Range(0, documents).Select(i => JsonSerializer.Serialize(new
        {
            id = $"{name}-{i}",
            text = string.Join(rng.Next(5) == 0 ? "" : " ",
                Enumerable.Range(0, 60 + rng.Next(60)).Select(_ => words[rng.Next(words.Length)])),
        })));
        return path;
    }

    private (double[] Losses, float[] Parameters, string Stderr) Train(string corpus, string valid, string proxy, string strategy,
        int ranks, int accumulation)
    {
        var name = $"{strategy}-{ranks}-{accumulation}";
        var output = Path.Combine(_dir.Path, name);
        var log = Path.Combine(_dir.Path, name + ".jsonl");
        var run = CliRunner.RunWithin(TimeSpan.FromMinutes(4), "train", "--corpus", corpus, "--valid", valid, "--proxy", proxy,
            "--strategy", strategy, "--steps", Steps.ToString(), "--batch", "8", "--accumulation", accumulation.ToString(), "--seq", "32",
            "--out", output, "--log", log, "--nproc", ranks.ToString());
        run.ExitCode.Should().Be(0, run.Stderr);
        var losses = File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("loss").GetDouble()).ToArray();
        using var model = Checkpoint.LoadModel(output);
        return (losses, model.Parameters().SelectMany(p => p.ToArray<float>()).ToArray(), run.Stderr);
    }

    [Fact]
    public void Two_ranks_follow_one_process_on_the_same_global_batch()
    {
        var corpus = Corpus("train.jsonl", 80, 1);
        var valid = Corpus("valid.jsonl", 16, 2);
        var proxy = Path.Combine(_dir.Path, "proxy");
        var proxyRun = CliRunner.Run("proxy", "train", "--corpus", corpus, "--vocab-size", "300", "--steps", "5", "--batch", "4",
            "--seq", "32", "--out", proxy);
        proxyRun.ExitCode.Should().Be(0, proxyRun.Stderr);

        foreach (var (strategy, accumulation) in new[] { ("uniform", 1), ("linupper", 1), ("linupper", 2), ("meta-em", 1) })
        {
            var single = Train(corpus, valid, proxy, strategy, 1, accumulation);
            var pair = Train(corpus, valid, proxy, strategy, 2, accumulation);

            pair.Stderr.Should().Contain("starting 2 ranks");
            pair.Losses.Should().HaveCount(Steps, "rank 0 alone logs, once per step");
            for (var step = 0; step < Steps; step++)
                pair.Losses[step].Should().BeApproximately(single.Losses[step], 1e-5, $"{strategy} ×{accumulation}, step {step + 1}");
            pair.Parameters.Should().HaveCount(single.Parameters.Length);
            var drift = pair.Parameters.Zip(single.Parameters, (a, b) => Math.Abs(a - b)).Max();
            drift.Should().BeLessThan(1e-4f, $"{strategy} ×{accumulation}: the averaged update is the whole batch's");
        }
    }

    [Fact]
    public void A_batch_that_does_not_split_over_the_ranks_fails_clearly()
    {
        var corpus = Corpus("train.jsonl", 20, 3);
        var run = CliRunner.Run("train", "--corpus", corpus, "--steps", "2", "--batch", "3", "--seq", "16", "--vocab-size", "260",
            "--out", Path.Combine(_dir.Path, "odd"), "--nproc", "2");

        run.ExitCode.Should().NotBe(0);
        run.Stderr.Should().Contain("does not split evenly over 2 ranks");
        Directory.Exists(Path.Combine(_dir.Path, "odd")).Should().BeFalse("nothing is written when the ranks refuse to start");
    }

    [Fact]
    public async Task When_a_rank_dies_the_other_stops_with_an_error_and_leaves_only_whole_checkpoints()
    {
        var corpus = Corpus("train.jsonl", 80, 4);
        var output = Path.Combine(_dir.Path, "killed");
        var log = Path.Combine(_dir.Path, "killed.jsonl");
        var (ranks, stderr) = CliRunner.StartRanks(2, "train", "--corpus", corpus, "--steps", "100000", "--batch", "4", "--seq", "32",
            "--vocab-size", "300", "--checkpoint-every", "2", "--out", output, "--log", log);
        try
        {
            await CliRunner.WaitForStepsAsync(log, 5, ranks[0], "both ranks train before one is killed");

            ranks[1].Kill();
            ranks[0].WaitForExit(TimeSpan.FromSeconds(60)).Should().BeTrue("the surviving rank stops within the collective timeout");

            ranks[0].ExitCode.Should().NotBe(0);
            (await stderr).Should().Contain("error");
            // Every checkpoint directory there is complete: the last whole one loads and resumes.
            using var model = Checkpoint.LoadModel(output);
            Directory.GetDirectories(_dir.Path).Should().NotContain(d => d.EndsWith(".staging", StringComparison.Ordinal),
                "no half-written checkpoint is left behind");
        }
        finally
        {
            foreach (var r in ranks.Where(r => !r.HasExited)) r.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task Sigterm_to_the_launcher_stops_every_rank_after_the_same_step_with_a_checkpoint_that_resumes()
    {
        var corpus = Corpus("train.jsonl", 80, 5);
        var output = Path.Combine(_dir.Path, "stopped");
        var log = Path.Combine(_dir.Path, "stopped.jsonl");
        using var launcher = CliRunner.Start(null, "train", "--corpus", corpus, "--steps", "100000", "--batch", "4", "--seq", "32",
            "--vocab-size", "300", "--out", output, "--log", log, "--nproc", "2");
        var stderr = launcher.StandardError.ReadToEndAsync();
        _ = launcher.StandardOutput.ReadToEndAsync();
        try
        {
            await CliRunner.WaitForStepsAsync(log, 5, launcher, "the ranks train before the launcher is stopped");

            using (var term = System.Diagnostics.Process.Start("kill", ["-TERM", launcher.Id.ToString()])) await term.WaitForExitAsync();
            launcher.WaitForExit(TimeSpan.FromSeconds(60)).Should().BeTrue("every rank stops after the step they agree on");

            launcher.ExitCode.Should().Be(130, await stderr);
            (await stderr).Should().Contain("interrupted: checkpoint saved");
            var stoppedAt = File.ReadAllLines(log).Length;
            var resumed = CliRunner.Run("train", "--corpus", corpus, "--steps", (stoppedAt + 2).ToString(), "--batch", "4", "--seq", "32",
                "--out", output, "--log", log, "--nproc", "2", "--resume");
            resumed.ExitCode.Should().Be(0, resumed.Stderr);
            File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64())
                .Should().Equal(Enumerable.Range(1, stoppedAt + 2).Select(i => (long)i),
                    "the checkpoint holds the step both ranks stopped after");
        }
        finally
        {
            if (!launcher.HasExited) launcher.Kill(entireProcessTree: true);
        }
    }
}
