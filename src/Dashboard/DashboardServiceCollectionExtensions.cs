using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Reweighting.Messaging;

namespace Reweighting.Dashboard;

/// <summary>Registers a service's dashboard.</summary>
public static class DashboardServiceCollectionExtensions
{
    /// <summary>Binds <see cref="DashboardOptions"/> from "Dashboard" (validated at start-up), and adds the
    /// <see cref="PipelineMetrics"/> of <paramref name="component"/> ("scorer" or "trainer") as the services'
    /// <see cref="IPipelineObserver"/>, and the <see cref="DashboardServer"/>. Call it after AddControlBus and before
    /// the worker, so the server listens (and hears the bus) before the worker starts. With Dashboard:Enabled=false
    /// nothing listens, but the figures are still kept.</summary>
    public static IServiceCollection AddDashboard(this IServiceCollection services, IConfiguration configuration, string component)
    {
        if (component is not (DashboardComponents.Scorer or DashboardComponents.Trainer))
            throw new ArgumentException($"a dashboard belongs to the scorer or the trainer, not '{component}'", nameof(component));
        services.AddOptions<DashboardOptions>().Bind(configuration.GetSection(DashboardOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DashboardOptions>, DashboardOptionsValidation>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new PipelineMetrics(component, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IPipelineObserver>(sp => sp.GetRequiredService<PipelineMetrics>());
        services.AddSingleton(sp => new MetricsExposition(sp.GetRequiredService<PipelineMetrics>()));
        services.AddSingleton<ChartsFragment>();
        services.AddSingleton<DashboardServer>();
        services.AddHostedService(sp => sp.GetRequiredService<DashboardServer>());
        return services;
    }

    private sealed class DashboardOptionsValidation : IValidateOptions<DashboardOptions>
    {
        public ValidateOptionsResult Validate(string? name, DashboardOptions options) =>
            options.Problem() is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
    }
}
