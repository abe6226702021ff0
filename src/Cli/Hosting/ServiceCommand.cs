using System.Collections;
using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Reweighting.Cli.Hosting;

/// <summary>A command that runs one of the pipeline's services in a Generic Host. Its convenience options each set one
/// configuration key; every other setting comes from the sources of <see cref="ServiceSettings"/>. Ctrl-C and SIGTERM
/// stop the host gracefully (its console lifetime handles them; the action is synchronous so that System.CommandLine
/// does not install a termination handler of its own that would cut the drain short).</summary>
internal sealed class ServiceCommand : Command
{
    private readonly List<(Option Option, string Key)> _settings = [];

    /// <summary>--config FILE: a JSON settings file over appsettings.json.</summary>
    public Option<string?> ConfigOption { get; } = new("--config")
    {
        Description = "JSON settings file, applied over appsettings.json and under the environment and the command line",
        HelpName = "file",
    };

    /// <summary>The setting overrides, <c>--Section:Key=value</c>: unknown options to the parser, so they land here.</summary>
    public Argument<string[]> OverridesArgument { get; } = new("--Section:Key=value") { Arity = ArgumentArity.ZeroOrMore };

    /// <summary>Fallback keys below every source, computed from the environment (e.g. $KAFKA_BOOTSTRAP_SERVERS).</summary>
    public Func<IDictionary, IReadOnlyDictionary<string, string?>> Defaults { get; init; } = _ => new Dictionary<string, string?>();

    /// <summary>Registers the service (options, workers, the control bus) on the builder.</summary>
    public required Action<HostApplicationBuilder> Register { get; init; }

    /// <summary>Checks the settings before the host starts, throwing <see cref="OptionsValidationException"/> or
    /// <see cref="ArgumentException"/> naming the first bad one (resolving bound options runs their validation).</summary>
    public required Action<IServiceProvider, IConfiguration> Validate { get; init; }

    /// <summary>Runs before the host is built; a non-null result is the exit code and the host is not run (e.g.
    /// <c>--nproc</c>, which starts the ranks as processes of their own).</summary>
    public Func<ParseResult, int?>? Launch { get; init; }

    /// <summary>Called once the host has started (e.g. to print where its dashboard listens).</summary>
    public Action<IHost>? Started { get; init; }

    /// <summary>The exit code once the host has stopped, from how its workers ended.</summary>
    public required Func<IHost, ParseResult, int> ExitCode { get; init; }

    /// <summary>Creates the command; <paramref name="settingsHelp"/> tells --help where the rest of the settings live and
    /// <paramref name="overrideExample"/> shows a command-line override.</summary>
    public ServiceCommand(string name, string description, string settingsHelp, string overrideExample)
        : base(name, description + Environment.NewLine + Environment.NewLine + settingsHelp)
    {
        OverridesArgument.Description = $"Any setting, e.g. {overrideExample} (a token that is not --Section:Key[=value] is an error)";
        Options.Add(ConfigOption);
        Arguments.Add(OverridesArgument);
        SetAction(Run);
    }

    /// <summary>Adds a convenience option that sets configuration <paramref name="key"/> when given.</summary>
    public void AddSetting(Option option, string key)
    {
        _settings.Add((option, key));
        Options.Add(option);
    }

    /// <summary>The configuration sources of this invocation.</summary>
    public ServiceSettings Settings(ParseResult parse, IDictionary environment, string workingDirectory) => new()
    {
        WorkingDirectory = workingDirectory,
        Defaults = Defaults(environment),
        ConfigFile = parse.GetValue(ConfigOption),
        Environment = environment,
        Options = GivenSettings(parse),
        CommandLine = ServiceSettings.CheckOverrides(parse.GetValue(OverridesArgument) ?? []),
    };

    /// <summary>The host builder this invocation runs: configuration, logging to stderr, and the service.</summary>
    public HostApplicationBuilder CreateBuilder(ParseResult parse, IDictionary environment, string workingDirectory)
    {
        var settings = Settings(parse, environment, workingDirectory);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            // The defaults would read appsettings.json, the environment and the arguments in their own order; the order
            // here is ServiceSettings'.
            DisableDefaults = true,
            ApplicationName = "reweight",
            ContentRootPath = Path.GetFullPath(workingDirectory),
            EnvironmentName = environment["DOTNET_ENVIRONMENT"] as string is { Length: > 0 } env ? env : Environments.Production,
        });
        settings.AddTo(builder.Configuration);
        // Logs go to stderr so that stdout carries only results (train-stream --json). Code rules first: the Logging section wins.
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Npgsql", LogLevel.Warning);
        builder.Logging.AddFilter("MassTransit", LogLevel.Warning);
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        Register(builder);
        return builder;
    }

    private Dictionary<string, string?> GivenSettings(ParseResult parse)
    {
        var given = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (option, key) in _settings)
        {
            if (parse.GetResult(option) is not { Implicit: false } result) continue;
            given[key] = result.GetValueOrDefault<object?>() switch
            {
                null => null,
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                var v => v.ToString(),
            };
        }
        return given;
    }

    private int Run(ParseResult parse) => RunAsync(parse).GetAwaiter().GetResult();

    private async Task<int> RunAsync(ParseResult parse)
    {
        IHost host;
        try
        {
            if (Launch?.Invoke(parse) is { } launched) return launched;
            host = CreateBuilder(parse, Environment.GetEnvironmentVariables(), Environment.CurrentDirectory).Build();
        }
        catch (Exception e)
        {
            // Bad tokens, a missing or malformed settings file, a value the binder cannot convert.
            return Fail(e);
        }
        try
        {
            try
            {
                Validate(host.Services, host.Services.GetRequiredService<IConfiguration>());
                await host.StartAsync();
                Started?.Invoke(host);
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine("cancelled");
                return 130;
            }
            catch (Exception e)
            {
                return Fail(e);
            }
            await host.WaitForShutdownAsync();
            return ExitCode(host, parse);
        }
        finally
        {
            // Some services (the bus) only dispose asynchronously.
            if (host is IAsyncDisposable disposable) await disposable.DisposeAsync();
            else host.Dispose();
        }
    }

    /// <summary>True when a background worker of the host ended with an exception (it has logged it).</summary>
    public static bool AnyWorkerFailed(IHost host) =>
        host.Services.GetServices<IHostedService>().OfType<BackgroundService>().Any(s => s.ExecuteTask is { IsFaulted: true });

    private static int Fail(Exception e)
    {
        // Options validation and binding name the setting; a file error names the file. One line, on stderr.
        var message = e switch
        {
            OptionsValidationException v => $"invalid setting: {string.Join("; ", v.Failures)}",
            InvalidOperationException { InnerException: { } inner } when e.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase)
                => $"{e.Message} ({inner.Message})",
            InvalidDataException { InnerException: { } inner } => $"{e.Message} ({inner.Message})",
            _ => e.Message,
        };
        Console.Error.WriteLine($"error: {message.ReplaceLineEndings(" ")}");
        return 1;
    }
}
