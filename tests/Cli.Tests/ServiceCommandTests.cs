using System.Diagnostics;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Reweighting.Cli.Commands;
using Reweighting.Cli.Hosting;
using Reweighting.Scorer;
using Reweighting.Trainer;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>`reweight score` and `reweight train-stream`: help, where settings come from and in which order, one-line
/// errors for bad settings (before any broker is contacted), and the e2e script's skip path.</summary>
public sealed class ServiceCommandTests : IDisposable
{
    private readonly CliRunner.TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Write(string name, string json)
    {
        var path = Path.Combine(_dir.Path, name);
        File.WriteAllText(path, json);
        return path;
    }

    private static async Task<T> BoundOptions<T>(string[] args, Dictionary<string, string> environment, string workingDirectory)
        where T : class
    {
        var host = ServiceCommands.BuildHost(args, environment, workingDirectory);
        try
        {
            return host.Services.GetRequiredService<IOptions<T>>().Value;
        }
        finally
        {
            if (host is IAsyncDisposable disposable) await disposable.DisposeAsync();
            else host.Dispose();
        }
    }

    [Theory]
    [InlineData("score", "Scorer", "Scorer__TokenBudget=65536", "--Scorer:TokenBudget=65536", "--model", "docs/scorer.md")]
    [InlineData("train-stream", "Trainer, Kafka", "Trainer__Training__Steps=2000", "--Trainer:Training:BatchSize=16", "--steps", "src/Trainer/README.md")]
    public void Help_lists_the_options_and_says_where_every_other_setting_lives(string command, string sections, string envExample,
        string overrideExample, string option, string docs)
    {
        var run = CliRunner.Run(command, "--help");
        run.ExitCode.Should().Be(0, run.Stderr);
        run.Stdout.Should().Contain($"sections {sections}").And.Contain(envExample).And.Contain(overrideExample)
            .And.Contain("appsettings.json").And.Contain("--config").And.Contain(docs).And.Contain("Distributed mode")
            .And.Contain("--bootstrap-servers").And.Contain("--db").And.Contain("--device").And.Contain(option);
    }

    [Fact]
    public void Train_help_is_the_corpus_trainer_s_and_names_the_service_form()
    {
        var run = CliRunner.Run("train", "--help");
        run.ExitCode.Should().Be(0, run.Stderr);
        run.Stdout.Should().Contain("--corpus").And.Contain("train-stream --help");
    }

    [Fact]
    public async Task Scorer_settings_come_from_appsettings_then_config_then_environment_then_the_command_line()
    {
        // Each setting is set in every source up to one; the last source that sets it must win.
        Write("appsettings.json", """
            { "Scorer": { "TokenBudget": 100, "MaxBatchRecords": 100, "WindowBatchSize": 100, "SnippetChars": 100, "BootstrapServers": "file:1" } }
            """);
        var config = Write("more.json", """{ "Scorer": { "TokenBudget": 200, "MaxBatchRecords": 200, "WindowBatchSize": 200 } }""");
        var environment = new Dictionary<string, string>
        {
            ["Scorer__TokenBudget"] = "300",
            ["Scorer__MaxBatchRecords"] = "300",
            ["Scorer__GroupId"] = "plain",
            ["REWEIGHT_Scorer__GroupId"] = "prefixed",
            ["Scorer__ModelDirectory"] = "from-environment",
            ["KAFKA_BOOTSTRAP_SERVERS"] = "fallback:9",
        };
        var options = await BoundOptions<ScorerOptions>(
            ["score", "--config", config, "--model", "from-option", "--Scorer:TokenBudget=400", "--Scorer:MaxWait", "00:00:03"], environment, _dir.Path);

        options.TokenBudget.Should().Be(400, "the command line wins over the environment");
        options.MaxBatchRecords.Should().Be(300, "the environment wins over --config");
        options.WindowBatchSize.Should().Be(200, "--config wins over appsettings.json");
        options.SnippetChars.Should().Be(100, "appsettings.json is read from the working directory");
        options.GroupId.Should().Be("prefixed", "REWEIGHT_-prefixed variables win over plain ones");
        options.ModelDirectory.Should().Be("from-option", "a convenience option is command line and wins over the environment");
        options.MaxWait.Should().Be(TimeSpan.FromSeconds(3), "--Section:Key value works as well as --Section:Key=value");
        options.BootstrapServers.Should().Be("file:1", "$KAFKA_BOOTSTRAP_SERVERS is only a fallback below every file");

        var bare = Directory.CreateDirectory(Path.Combine(_dir.Path, "bare")).FullName; // no appsettings.json
        var fallback = await BoundOptions<ScorerOptions>(["score", "--model", "m"], new() { ["KAFKA_BOOTSTRAP_SERVERS"] = "fallback:9" }, bare);
        fallback.BootstrapServers.Should().Be("fallback:9", "with nothing else set, $KAFKA_BOOTSTRAP_SERVERS is used");
        var option = await BoundOptions<ScorerOptions>(["score", "--model", "m", "--bootstrap-servers", "option:1", "--Scorer:ModelDirectory=override"],
            new() { ["Scorer__BootstrapServers"] = "env:1" }, bare);
        option.BootstrapServers.Should().Be("option:1");
        option.ModelDirectory.Should().Be("override", "a --Section:Key override wins over the convenience option naming the same key");
    }

    [Fact]
    public async Task Trainer_settings_follow_the_same_order_and_the_options_reach_their_keys()
    {
        Write("appsettings.json", """{ "Trainer": { "Training": { "Steps": 10, "BatchSize": 10, "SequenceLength": 10 }, "Temperature": 0.1 } }""");
        var config = Write("trainer.json", """{ "Trainer": { "Training": { "Steps": 20, "BatchSize": 20 }, "CheckpointDirectory": "from-config" } }""");
        var validation = Write("valid.jsonl", "[1, 2, 3]\n");
        var environment = new Dictionary<string, string> { ["Trainer__Training__Steps"] = "30", ["Trainer__Strategy"] = "quadratic" };

        var options = await BoundOptions<TrainerOptions>(
            ["train-stream", "--config", config, "--steps", "40", "--strategy", "linupper", "--device", "cpu", "--validation-file", validation,
             "--validation-fraction", "0.25", "--Trainer:Training:SequenceLength=32"], environment, _dir.Path);

        options.Training.Steps.Should().Be(40, "--steps (command line) wins over the environment");
        options.Training.BatchSize.Should().Be(20, "--config wins over appsettings.json");
        options.Training.SequenceLength.Should().Be(32);
        options.Temperature.Should().Be(0.1);
        options.Strategy.Should().Be("linupper");
        options.CheckpointDirectory.Should().Be("from-config");
        options.Training.Device.Should().Be("cpu");
        options.ValidationFile.Should().Be(validation);
        options.ValidationFraction.Should().Be(0.25);

        var kafka = ServiceCommands.BuildHost(["train-stream", "--checkpoint-dir", "c"], new Dictionary<string, string> { ["KAFKA_BOOTSTRAP_SERVERS"] = "broker:9092" }, _dir.Path);
        try
        {
            kafka.Services.GetRequiredService<IConfiguration>()["Kafka:BootstrapServers"].Should().Be("broker:9092");
        }
        finally
        {
            if (kafka is IAsyncDisposable disposable) await disposable.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("score")]
    [InlineData("train-stream")]
    public async Task The_services_do_not_send_MassTransit_usage_telemetry(string command)
    {
        var host = ServiceCommands.BuildHost([command], new Dictionary<string, string>(), _dir.Path);
        try
        {
            host.Services.GetRequiredService<IOptions<MassTransit.UsageTelemetryOptions>>().Value.Enabled.Should().BeFalse();
        }
        finally
        {
            if (host is IAsyncDisposable disposable) await disposable.DisposeAsync();
        }
    }

    [Fact]
    public void Environment_variables_become_keys_with_the_prefix_winning()
    {
        var settings = ServiceSettings.EnvironmentSettings(new Dictionary<string, string>
        {
            ["Scorer__Labelling__WarmUpDocuments"] = "5",
            ["SCORER__TOKENBUDGET"] = "1",
            ["REWEIGHT_Scorer__TokenBudget"] = "2",
        });
        settings["Scorer:Labelling:WarmUpDocuments"].Should().Be("5");
        settings["Scorer:TokenBudget"].Should().Be("2");
    }

    [Theory]
    [InlineData("score --model m --Scorer:TokenBudget=0", "error: invalid setting: Scorer:TokenBudget must be positive, not 0")]
    [InlineData("score --model m --Scorer:TokenBudget=many", "'many' at 'Scorer:TokenBudget'")]
    [InlineData("score", "Scorer:ModelDirectory")]
    [InlineData("score --model m --device tpu", "Scorer:Device")]
    [InlineData("score --model m --Scorer:TokenBudget", "--Scorer:TokenBudget has no value")]
    [InlineData("score --model m --bootstrap-server x:1", "unknown option '--bootstrap-server'")]
    [InlineData("score --model m stray", "unexpected argument 'stray'")]
    [InlineData("score --model m --config missing.json", "missing.json does not exist")]
    [InlineData("train-stream --bootstrap-servers 127.0.0.1:1 --strategy bogus", "Trainer:Strategy 'bogus' is unknown")]
    [InlineData("train-stream --bootstrap-servers 127.0.0.1:1 --steps 0", "steps must be positive")]
    [InlineData("train-stream --bootstrap-servers 127.0.0.1:1 --strategy meta-em", "Trainer:ValidationFile or Trainer:ValidationFraction")]
    [InlineData("train-stream --bootstrap-servers 127.0.0.1:1 --validation-file nowhere.jsonl", "Trainer:ValidationFile nowhere.jsonl does not exist")]
    [InlineData("train-stream", "Kafka:BootstrapServers is not set")]
    [InlineData("train-stream --bootstrap-servers a:1 --Kafka:bootstrap.servers=b:2", "are both set")]
    public void A_bad_setting_exits_1_with_one_line_naming_it_before_any_broker_is_contacted(string args, string expected)
    {
        var stopwatch = Stopwatch.StartNew();
        var run = RunIn(_dir.Path, args.Split(' '));
        run.ExitCode.Should().Be(1, run.Stdout + run.Stderr);
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().ContainSingle("one clear line, no logs or stack traces: {0}", run.Stderr);
        lines[0].Should().StartWith("error: ").And.Contain(expected);
        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(20), "nothing waits for Kafka or PostgreSQL");
    }

    // Like CliRunner.Run, but in a directory of its own and without the machine's KAFKA_BOOTSTRAP_SERVERS.
    private static CliRunner.Result RunIn(string workingDirectory, string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "reweight.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment.Remove("KAFKA_BOOTSTRAP_SERVERS");
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(1)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"reweight {string.Join(' ', args)} did not finish in a minute");
        }
        return new CliRunner.Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void A_malformed_settings_file_is_named_in_one_line()
    {
        Write("appsettings.json", "{ \"Scorer\": { \"TokenBudget\": ");
        var run = RunIn(_dir.Path, ["score", "--model", "m"]);
        run.ExitCode.Should().Be(1, run.Stdout + run.Stderr);
        run.Stderr.Trim().Should().StartWith("error: ").And.Contain("appsettings.json").And.NotContain("\n");
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "scripts", "e2e-kafka.sh"))) return d.FullName;
        throw new DirectoryNotFoundException("no scripts/e2e-kafka.sh above the test directory");
    }

    [Theory]
    [InlineData("127.0.0.1:1", 0, "SKIPPED: no Kafka broker reachable at 127.0.0.1:1")]
    [InlineData("", 0, "SKIPPED: no Kafka broker reachable at <KAFKA_BOOTSTRAP_SERVERS is not set>")]
    [InlineData("PLAINTEXT://127.0.0.1:1,localhost:2", 3, "SKIPPED: no Kafka broker reachable at PLAINTEXT://127.0.0.1:1,localhost:2")]
    public async Task The_e2e_script_skips_quickly_and_says_so_when_no_broker_answers(string servers, int exitCode, string line)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(RepositoryRoot(), "scripts", "e2e-kafka.sh"));
        info.Environment["KAFKA_BOOTSTRAP_SERVERS"] = servers;
        // A nonexistent CLI: the skip must come before anything is built or run.
        info.Environment["REWEIGHT"] = Path.Combine(_dir.Path, "no-such-reweight");
        if (exitCode == 3) info.Environment["E2E_REQUIRE_BROKER"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(limit.Token); // the skip path checks each address for at most 3 s
        var output = await stdout;
        process.ExitCode.Should().Be(exitCode, await stderr);
        output.Trim().Should().StartWith(line);
        output.Should().NotContain("PASS").And.NotContain("FAIL");
    }
}
