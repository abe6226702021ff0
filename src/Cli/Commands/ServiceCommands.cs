using System.Collections;
using System.CommandLine;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Reweighting.Cli.Hosting;
using Reweighting.Dashboard;
using Reweighting.Messaging;
using Reweighting.Scorer;
using Reweighting.Trainer;
using Reweighting.Trainer.Hosting;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight score` and `reweight train-stream`: the distributed mode's services, each a Generic Host reading
/// Kafka and PostgreSQL, configured from appsettings.json, --config, the environment and the command line. (`reweight
/// train` is taken by the corpus trainer, which reads a file instead of the stream.)</summary>
internal static class ServiceCommands
{
    private const string KafkaVariable = "KAFKA_BOOTSTRAP_SERVERS";
    private const string KafkaSection = "Kafka";

    // A trainer stopping writes a checkpoint (model, optimizer, phi, offsets): give it time before the host gives up.
    private static readonly TimeSpan TrainerShutdownTimeout = TimeSpan.FromMinutes(2);

    public static Command CreateScore()
    {
        var command = new ServiceCommand("score",
            "Run the scorer service until stopped: consume `documents`, score each document with the proxy, label it with the GMM, " +
            "store it in PostgreSQL exactly once and publish `scored-batches`. Ctrl-C or SIGTERM drain the batch in flight.",
            SettingsHelp(["Scorer"], "docs/scorer.md", "Scorer__TokenBudget=65536", "--Scorer:TokenBudget=65536"), "--Scorer:TokenBudget=65536")
        {
            Defaults = environment => Fallback(environment, KafkaVariable, $"{ScorerOptions.Section}:BootstrapServers"),
            Register = builder =>
            {
                AddControlBus(builder.Services);
                builder.Services.AddDashboard(builder.Configuration, DashboardComponents.Scorer);
                builder.Services.AddScorer(builder.Configuration);
            },
            Validate = (services, _) =>
            {
                Resolve<ScorerOptions>(services);
                Resolve<DashboardOptions>(services);
            },
            Started = PrintDashboard,
            ExitCode = (host, _) => ServiceCommand.AnyWorkerFailed(host) ? 1 : 0,
        };
        command.AddSetting(new Option<string?>("--bootstrap-servers")
        {
            Description = $"Kafka bootstrap servers, host:port[,host:port] (Scorer:BootstrapServers; default ${KafkaVariable}, else localhost:9092)",
            HelpName = "servers",
        }, $"{ScorerOptions.Section}:BootstrapServers");
        command.AddSetting(new Option<string?>("--model")
        {
            Description = "Proxy checkpoint directory, with its tokenizer (Scorer:ModelDirectory; required)",
            HelpName = "dir",
        }, $"{ScorerOptions.Section}:ModelDirectory");
        command.AddSetting(DbOption("Scorer:Database"), $"{ScorerOptions.Section}:Database");
        command.AddSetting(new Option<string?>("--device")
        {
            Description = "auto (CUDA when present), cpu, cuda or cuda:N (Scorer:Device)",
            HelpName = "device",
        }, $"{ScorerOptions.Section}:Device");
        command.AddSetting(DashboardUrlsOption(DashboardOptions.ScorerPort), $"{DashboardOptions.Section}:Urls");
        return command;
    }

    public static Command CreateTrainStream()
    {
        var json = new Option<bool>("--json") { Description = "Print how the run ended (run id, step, stop reason, last loss) as JSON on stdout" };
        var nproc = RankLauncher.CreateOption("Trainer:Training:BatchSize");
        var command = new ServiceCommand("train-stream",
            "Run the trainer service: consume `scored-batches`, weight each sample by the strategy, train the model, checkpoint with the " +
            "consumed offsets and record metrics in PostgreSQL. Ends after Trainer:Training:Steps (exit 0), on failure (exit 1), " +
            "or on Ctrl-C/SIGTERM after a checkpoint (exit 130; the next start resumes from it).",
            SettingsHelp(["Trainer", "Kafka"], "src/Trainer/README.md", "Trainer__Training__Steps=2000", "--Trainer:Training:BatchSize=16",
                "The Kafka section goes to librdkafka: Kafka:BootstrapServers, Kafka:SecurityProtocol, ... (or Kafka:bootstrap.servers)."),
            "--Trainer:Training:BatchSize=16")
        {
            Defaults = environment => Fallback(environment, KafkaVariable, $"{KafkaSection}:BootstrapServers"),
            Launch = parse => parse.GetValue(nproc) is var ranks && ranks != 1 ? RankLauncher.Run(ranks) : null,
            Register = builder =>
            {
                // Rank 0 serves the dashboard; the other ranks of a data-parallel job would only compete for its port.
                if (Torch.Distributed.ProcessGroup.InEnvironment && Environment.GetEnvironmentVariable("RANK") != "0")
                    builder.Configuration.AddInMemoryCollection(
                        new Dictionary<string, string?> { [$"{DashboardOptions.Section}:Enabled"] = "false" });
                AddControlBus(builder.Services);
                builder.Services.AddDashboard(builder.Configuration, DashboardComponents.Trainer);
                builder.Services.AddTrainer(builder.Configuration);
                builder.Services.Configure<HostOptions>(o =>
                {
                    if (o.ShutdownTimeout < TrainerShutdownTimeout) o.ShutdownTimeout = TrainerShutdownTimeout;
                });
            },
            Validate = (services, configuration) =>
            {
                Resolve<TrainerOptions>(services);
                Resolve<DashboardOptions>(services);
                var camel = !string.IsNullOrWhiteSpace(configuration[$"{KafkaSection}:BootstrapServers"]);
                var dotted = !string.IsNullOrWhiteSpace(configuration[$"{KafkaSection}:bootstrap.servers"]);
                if (!camel && !dotted)
                    throw new ArgumentException(
                        $"Kafka:BootstrapServers is not set (--bootstrap-servers, ${KafkaVariable}, Kafka__BootstrapServers or --Kafka:BootstrapServers=HOST:PORT)");
                // Both become librdkafka's bootstrap.servers.
                if (camel && dotted)
                    throw new ArgumentException($"Kafka:BootstrapServers and Kafka:bootstrap.servers are both set (${KafkaVariable} sets the first); keep one");
            },
            Started = PrintDashboard,
            ExitCode = (host, parse) => TrainerExitCode(host, parse.GetValue(json)),
        };
        command.Options.Add(json);
        command.Options.Add(nproc);
        command.AddSetting(new Option<string?>("--bootstrap-servers")
        {
            Description = $"Kafka bootstrap servers, host:port[,host:port] (Kafka:BootstrapServers; default ${KafkaVariable})",
            HelpName = "servers",
        }, $"{KafkaSection}:BootstrapServers");
        // Checked with the other settings (Trainer:Strategy), so that a bad name gets the same one-line error either way.
        command.AddSetting(new Option<string?>("--strategy")
        {
            Description = $"Weighting strategy: {string.Join(", ", Strategies.StrategyCatalogue.Names)} (Trainer:Strategy; default uniform)",
            HelpName = "name",
        }, $"{TrainerOptions.Section}:Strategy");
        command.AddSetting(new Option<int?>("--steps") { Description = "Optimiser steps of the run (Trainer:Training:Steps)", HelpName = "n" },
            $"{TrainerOptions.Section}:Training:Steps");
        command.AddSetting(new Option<string?>("--log")
        {
            Description = "Append one JSON line per optimiser step to this file (rank 0): step, loss (the global batch's), lr, " +
                          "grad_norm, tokens_per_s, collective_s, sync_s, valid_loss (Trainer:StepLog)",
            HelpName = "file",
        }, $"{TrainerOptions.Section}:StepLog");
        command.AddSetting(new Option<string?>("--checkpoint-dir")
        {
            Description = "Checkpoint directory; a run resumes from it when it exists (Trainer:CheckpointDirectory)",
            HelpName = "dir",
        }, $"{TrainerOptions.Section}:CheckpointDirectory");
        command.AddSetting(DbOption("Trainer:Database"), $"{TrainerOptions.Section}:Database");
        command.AddSetting(new Option<string?>("--device") { Description = "cpu, cuda or cuda:N (Trainer:Training:Device)", HelpName = "device" },
            $"{TrainerOptions.Section}:Training:Device");
        command.AddSetting(new Option<string?>("--validation-file")
        {
            Description = "Clean validation set, JSON lines of token ids (Trainer:ValidationFile; meta-em needs it or --validation-fraction)",
            HelpName = "file",
        }, $"{TrainerOptions.Section}:ValidationFile");
        command.AddSetting(new Option<double?>("--validation-fraction")
        {
            Description = "Share of the stream held out for validation when there is no file, in [0, 1) (Trainer:ValidationFraction)",
            HelpName = "share",
        }, $"{TrainerOptions.Section}:ValidationFraction");
        command.AddSetting(DashboardUrlsOption(DashboardOptions.TrainerPort), $"{DashboardOptions.Section}:Urls");
        return command;
    }

    /// <summary>For tests: the host `reweight ARGS` would run (score or train-stream), built but not started, with the given
    /// environment and working directory in place of the process's.</summary>
    internal static IHost BuildHost(string[] args, IDictionary environment, string workingDirectory)
    {
        var root = new RootCommand { CreateScore(), CreateTrainStream() };
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0) throw new ArgumentException(string.Join("; ", parse.Errors.Select(e => e.Message)));
        var command = parse.CommandResult.Command as ServiceCommand ?? throw new ArgumentException($"{args.FirstOrDefault()} is not a service command");
        return command.CreateBuilder(parse, environment, workingDirectory).Build();
    }

    private static int TrainerExitCode(IHost host, bool json)
    {
        var result = host.Services.GetRequiredService<TrainerWorker>().Result;
        if (ServiceCommand.AnyWorkerFailed(host)) return 1;
        if (result is null)
        {
            Console.Error.WriteLine("trainer: stopped before training began");
            return 130;
        }
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                run_id = result.RunId,
                step = result.Step,
                stop_reason = result.StopReason,
                last_loss = result.Losses.Count > 0 ? result.Losses[^1] : (double?)null,
                duplicates_skipped = result.DuplicatesSkipped,
                corrupt_skipped = result.CorruptSkipped,
            }));
        }
        Console.Error.WriteLine($"trainer: run {result.RunId} ended at step {result.Step} ({result.StopReason})");
        return result.StopReason == "shutdown" ? 130 : 0;
    }

    // The in-process bus carries the control events (and logs each). MassTransit would also send its usage telemetry to
    // masstransit.io from every service: off by default here (MASSTRANSIT_USAGE_TELEMETRY=true turns it back on).
    private static void AddControlBus(IServiceCollection services)
    {
        services.AddControlBus();
        services.Configure<UsageTelemetryOptions>(o => o.Enabled = false);
    }

    // On stderr: stdout carries only results (train-stream --json).
    private static void PrintDashboard(IHost host)
    {
        var server = host.Services.GetRequiredService<DashboardServer>();
        if (server.Addresses.Count > 0)
            Console.Error.WriteLine($"dashboard: {string.Join(", ", server.Addresses.Select(a => a + "/"))} (also /health, /metrics)");
    }

    private static Option<string?> DashboardUrlsOption(int port) => new("--dashboard-urls")
    {
        Description = $"Where the dashboard, /health and /metrics listen, ';'-separated (Dashboard:Urls; default http://127.0.0.1:{port}; " +
            "port 0 picks a free one; Dashboard:Enabled=false turns it off)",
        HelpName = "urls",
    };

    // Resolving bound options runs their validation, which throws OptionsValidationException naming the setting.
    private static void Resolve<T>(IServiceProvider services) where T : class => _ = services.GetRequiredService<IOptions<T>>().Value;

    private static Option<string?> DbOption(string key) => new("--db")
    {
        Description = $"PostgreSQL connection string ({key}; default REWEIGHT_DB, the PG* variables, else the embedded cluster under .data/pg)",
        HelpName = "connection",
    };

    private static Dictionary<string, string?> Fallback(IDictionary environment, string variable, string key) =>
        environment[variable] is string { Length: > 0 } value ? new() { [key] = value } : new();

    private static string SettingsHelp(string[] sections, string docs, string environmentExample, string commandLineExample, params string[] notes) =>
        string.Join(Environment.NewLine, [
            $"Settings: sections {string.Join(", ", sections)} (every setting: {docs}) and Logging. Later sources win:",
            "  1. appsettings.json in the working directory",
            "  2. --config FILE",
            $"  3. environment variables: {environmentExample} (REWEIGHT_{environmentExample} wins over it)",
            "  4. the options below",
            $"  5. --Section:Key=value (or --Section:Key value) on the command line: {commandLineExample}",
            .. notes,
            "Examples and the docker-compose deployment: README.md, \"Distributed mode\"."]);
}
