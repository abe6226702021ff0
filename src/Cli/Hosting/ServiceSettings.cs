using System.Collections;
using Microsoft.Extensions.Configuration;

namespace Reweighting.Cli.Hosting;

/// <summary>Where a service command's configuration comes from, lowest precedence first: <see cref="Defaults"/>,
/// appsettings.json in <see cref="WorkingDirectory"/> (optional), <see cref="ConfigFile"/> (--config), the
/// <see cref="Environment"/> (<c>Scorer__TokenBudget</c>, then <c>REWEIGHT_Scorer__TokenBudget</c>), the convenience
/// <see cref="Options"/>, and the <see cref="CommandLine"/> overrides (<c>--Scorer:TokenBudget=65536</c>).</summary>
internal sealed record ServiceSettings
{
    /// <summary>Prefix of environment variables meant for this program only; stripped before the key is read.</summary>
    public const string EnvironmentPrefix = "REWEIGHT_";

    /// <summary>Name of the optional settings file looked for in the working directory.</summary>
    public const string AppSettingsFile = "appsettings.json";

    /// <summary>Directory holding the optional appsettings.json (the process's working directory).</summary>
    public required string WorkingDirectory { get; init; }

    /// <summary>Fallbacks below every file, e.g. Scorer:BootstrapServers from $KAFKA_BOOTSTRAP_SERVERS.</summary>
    public IReadOnlyDictionary<string, string?> Defaults { get; init; } = new Dictionary<string, string?>();

    /// <summary>A JSON settings file given with --config; it must exist.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>The process environment (a test passes its own).</summary>
    public IDictionary Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Keys set by the command's convenience options (--model, --steps, ...), only those given.</summary>
    public IReadOnlyDictionary<string, string?> Options { get; init; } = new Dictionary<string, string?>();

    /// <summary><c>--Section:Key=value</c> or <c>--Section:Key value</c> tokens, already checked by <see cref="CheckOverrides"/>.</summary>
    public IReadOnlyList<string> CommandLine { get; init; } = [];

    /// <summary>Adds the sources to <paramref name="builder"/> in precedence order (later ones win).</summary>
    public void AddTo(IConfigurationBuilder builder)
    {
        builder.AddInMemoryCollection(Defaults);
        builder.AddJsonFile(Path.Combine(Path.GetFullPath(WorkingDirectory), AppSettingsFile), optional: true, reloadOnChange: false);
        if (ConfigFile is { } file)
        {
            var path = Path.GetFullPath(file, Path.GetFullPath(WorkingDirectory));
            if (!File.Exists(path)) throw new FileNotFoundException($"--config: the settings file {path} does not exist", path);
            builder.AddJsonFile(path, optional: false, reloadOnChange: false);
        }
        builder.AddInMemoryCollection(EnvironmentSettings(Environment));
        builder.AddInMemoryCollection(Options);
        builder.AddCommandLine([.. CommandLine]);
    }

    /// <summary>The configuration these sources make on their own (what the host's configuration holds too).</summary>
    public IConfigurationRoot Build()
    {
        var builder = new ConfigurationBuilder();
        AddTo(builder);
        return builder.Build();
    }

    /// <summary>Environment variables as configuration keys: <c>__</c> separates sections; a variable with the
    /// <see cref="EnvironmentPrefix"/> wins over the same key without it.</summary>
    public static Dictionary<string, string?> EnvironmentSettings(IDictionary environment)
    {
        var plain = new List<(string Key, string? Value)>();
        var prefixed = new List<(string Key, string? Value)>();
        foreach (DictionaryEntry entry in environment)
        {
            if (entry.Key is not string name || name.Length == 0) continue;
            var value = entry.Value as string;
            if (name.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase) && name.Length > EnvironmentPrefix.Length)
                prefixed.Add((name[EnvironmentPrefix.Length..].Replace("__", ConfigurationPath.KeyDelimiter), value));
            else
                plain.Add((name.Replace("__", ConfigurationPath.KeyDelimiter), value));
        }
        // Configuration keys ignore case, so SCORER__X and Scorer__X are one key; the dictionary keeps the last.
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in plain.Concat(prefixed)) settings[key] = value;
        return settings;
    }

    /// <summary>Checks the tokens the command line did not recognise: each must be a setting override,
    /// <c>--Section:Key=value</c> or <c>--Section:Key value</c>. A stray word or a mistyped option would otherwise
    /// become a configuration key nobody reads; this names it instead.</summary>
    /// <exception cref="ArgumentException">naming the first token that is not an override.</exception>
    public static IReadOnlyList<string> CheckOverrides(IReadOnlyList<string> tokens)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (!token.StartsWith("--", StringComparison.Ordinal))
                throw new ArgumentException($"unexpected argument '{token}' (settings are passed as --Section:Key=value)");
            var equals = token.IndexOf('=');
            var key = equals < 0 ? token[2..] : token[2..equals];
            if (!key.Contains(':') || key.StartsWith(':') || key.EndsWith(':'))
                throw new ArgumentException($"unknown option '{token}' (see --help; other settings are passed as --Section:Key=value)");
            if (equals >= 0) continue;
            // "--Section:Key value": the value must follow, and must not be the next override.
            if (i + 1 >= tokens.Count || tokens[i + 1].StartsWith("--", StringComparison.Ordinal))
                throw new ArgumentException($"{token} has no value (write {token}=VALUE)");
            i++;
        }
        return tokens;
    }
}
