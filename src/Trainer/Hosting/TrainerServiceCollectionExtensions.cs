using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Reweighting.Trainer.Hosting;

/// <summary>Registers the trainer service: options from "Trainer" (validated at start-up), the Kafka consumer from
/// "Kafka" (librdkafka settings), the database from "Trainer:Database", and the <see cref="TrainerWorker"/>.</summary>
public static class TrainerServiceCollectionExtensions
{
    public static IServiceCollection AddTrainer(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TrainerOptions>().Bind(configuration.GetSection(TrainerOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TrainerOptions>, TrainerOptionsValidation>();
        services.TryAddSingleton<ITrainerConsumerFactory>(_ => new KafkaTrainerConsumerFactory(
            configuration.GetSection("Kafka").AsEnumerable(makePathsRelative: true).Where(kv => kv.Value is not null)
                .ToDictionary(kv => ToLibrdkafkaName(kv.Key), kv => kv.Value!)));
        services.TryAddSingleton(new TrainerDatabaseOptions(configuration[$"{TrainerOptions.Section}:Database"],
            !string.Equals(configuration[$"{TrainerOptions.Section}:RecordToDatabase"], "false", StringComparison.OrdinalIgnoreCase)));
        services.AddSingleton<TrainerWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<TrainerWorker>());
        return services;
    }

    // "BootstrapServers" (configuration style) or "bootstrap.servers" (librdkafka style) both work.
    private static string ToLibrdkafkaName(string key) =>
        key.Contains('.') ? key : string.Concat(key.Select((c, i) => char.IsUpper(c) && i > 0 ? "." + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    private sealed class TrainerOptionsValidation : IValidateOptions<TrainerOptions>
    {
        public ValidateOptionsResult Validate(string? name, TrainerOptions options)
        {
            try
            {
                options.Validate();
                return ValidateOptionsResult.Success;
            }
            catch (ArgumentException e)
            {
                return ValidateOptionsResult.Fail(e.Message);
            }
        }
    }
}
