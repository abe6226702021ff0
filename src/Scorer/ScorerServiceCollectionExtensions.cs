using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Reweighting.Scorer;

/// <summary>Registers the scorer service in a Generic Host.</summary>
public static class ScorerServiceCollectionExtensions
{
    /// <summary>Binds <see cref="ScorerOptions"/> from the <c>Scorer</c> section (validated at start-up), and adds the
    /// worker with Confluent's Kafka clients (unless others are registered already). The worker labels with the GMM
    /// reservoir labeller unless an <see cref="IDocumentLabeller"/> is registered, and publishes control events when a
    /// control bus is (<c>AddControlBus</c>).</summary>
    public static IServiceCollection AddScorer(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ScorerOptions>()
            .Bind(configuration.GetSection(ScorerOptions.Section))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ScorerOptions>, ScorerOptionsValidation>();
        services.TryAddSingleton<IScorerKafkaClients, ConfluentScorerKafkaClients>();
        services.AddSingleton<ScorerWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<ScorerWorker>());
        // A stop drains the batch in flight for DrainTimeout; give the host a little more than that.
        services.Configure<HostOptions>(host =>
        {
            var drain = configuration.GetSection(ScorerOptions.Section).Get<ScorerOptions>()?.DrainTimeout ?? new ScorerOptions().DrainTimeout;
            var needed = drain + TimeSpan.FromSeconds(5);
            if (host.ShutdownTimeout < needed) host.ShutdownTimeout = needed;
        });
        return services;
    }
}

/// <summary>Start-up validation naming the first invalid setting.</summary>
internal sealed class ScorerOptionsValidation : IValidateOptions<ScorerOptions>
{
    public ValidateOptionsResult Validate(string? name, ScorerOptions options) =>
        options.Problem() is { } problem ? ValidateOptionsResult.Fail(problem)
        : options.ModelDirectory.Length == 0 ? ValidateOptionsResult.Fail("Scorer:ModelDirectory (the proxy checkpoint directory) is required")
        : ValidateOptionsResult.Success;
}
