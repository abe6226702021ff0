using FluentAssertions;
using Reweighting.Cli.Commands;
using Xunit;

namespace Reweighting.Cli.Tests;

public sealed class TrainRoutingTests
{
    [Theory]
    [InlineData("train --corpus c.jsonl --steps 3", "train --corpus c.jsonl --steps 3")]
    [InlineData("train --corpus=c.jsonl", "train --corpus=c.jsonl")]
    [InlineData("train --help", "train --help")]
    [InlineData("train --bootstrap-servers k:9092 --steps 3", "train-stream --bootstrap-servers k:9092 --steps 3")]
    [InlineData("train", "train-stream")]
    [InlineData("score --model m", "score --model m")]
    [InlineData("demo", "demo")]
    public void Train_without_a_corpus_is_the_trainer_service(string given, string routed) =>
        TrainRouting.Route(given.Split(' ')).Should().Equal(routed.Split(' '));

    [Fact]
    public void A_corpus_less_train_runs_the_service_and_fails_on_its_settings_not_on_a_missing_corpus()
    {
        var run = CliRunner.Run("train", "--Trainer:Training:Steps=0");
        run.ExitCode.Should().Be(1);
        run.Stderr.Should().Contain("invalid setting").And.NotContain("--corpus");
    }
}
