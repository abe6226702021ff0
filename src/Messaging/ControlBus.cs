using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reweighting.Contracts.Control;

namespace Reweighting.Messaging;

/// <summary>Where components publish their control events (<see cref="ControlEvent"/>): the in-process bus. Publishing
/// never fails the caller's data path: a bus that cannot take an event logs it and drops it.</summary>
public interface IControlEvents
{
    /// <summary>Publishes <paramref name="controlEvent"/> under its runtime type (so consumers of the concrete type and of
    /// <see cref="ControlEvent"/> both receive it) and returns once the bus accepted it.</summary>
    Task PublishAsync(ControlEvent controlEvent, CancellationToken ct = default);

    /// <summary>Fire and forget, for callers on a loop thread that must not wait (the scorer's consume loop).</summary>
    void Publish(ControlEvent controlEvent);
}

/// <summary>Publishes control events on MassTransit's bus.</summary>
public sealed class BusControlEvents(IBus bus, ILogger<BusControlEvents> logger, ControlBusMonitor? monitor = null) : IControlEvents
{
    /// <inheritdoc />
    public async Task PublishAsync(ControlEvent controlEvent, CancellationToken ct = default)
    {
        try
        {
            await bus.Publish(controlEvent, controlEvent.GetType(), ct);
            monitor?.Published();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            monitor?.PublishFailed();
            logger.LogWarning(e, "Could not publish {Event} on the control bus", controlEvent.GetType().Name);
        }
    }

    /// <inheritdoc />
    public void Publish(ControlEvent controlEvent) => _ = PublishAsync(controlEvent);
}

/// <summary>A consumer of every control event type, each handed to <see cref="HandleAsync"/>. MassTransit delivers
/// messages by their concrete type (an abstract <see cref="ControlEvent"/> cannot be deserialised), so a listener
/// of "all events" derives from this class; a test checks that it names every event the contracts define.</summary>
public abstract class ControlEventConsumer :
    IConsumer<ScorerStarted>, IConsumer<ScorerStopped>, IConsumer<BatchScored>, IConsumer<GmmRefitted>,
    IConsumer<ClusterParametersUpdated>, IConsumer<TrainerStarted>, IConsumer<TrainerCheckpointed>, IConsumer<TrainerStopped>
{
    /// <summary>Handles one event of any type.</summary>
    protected abstract Task HandleAsync(ControlEvent controlEvent, CancellationToken ct);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<ScorerStarted> context) => HandleAsync(context.Message, context.CancellationToken);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<ScorerStopped> context) => HandleAsync(context.Message, context.CancellationToken);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<BatchScored> context) => HandleAsync(context.Message, context.CancellationToken);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<GmmRefitted> context) => HandleAsync(context.Message, context.CancellationToken);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<ClusterParametersUpdated> context) => HandleAsync(context.Message, context.CancellationToken);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<TrainerStarted> context) => HandleAsync(context.Message, context.CancellationToken);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<TrainerCheckpointed> context) => HandleAsync(context.Message, context.CancellationToken);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<TrainerStopped> context) => HandleAsync(context.Message, context.CancellationToken);
}

/// <summary>Logs every control event at Information (category Reweighting.Messaging.ControlEventLog), so the events
/// of a service show in its log whatever else listens; it also tells the <see cref="ControlBusMonitor"/> that the bus
/// delivered the event.</summary>
public sealed class ControlEventLog(ILogger<ControlEventLog> logger, ControlBusMonitor? monitor = null) : ControlEventConsumer
{
    /// <inheritdoc />
    protected override Task HandleAsync(ControlEvent controlEvent, CancellationToken ct)
    {
        monitor?.Delivered();
        logger.LogInformation("control: {Event}", controlEvent);
        return Task.CompletedTask;
    }
}

/// <summary>Registers the in-process control bus.</summary>
public static class ControlBusServiceCollectionExtensions
{
    /// <summary>How long the host waits for the bus and its receive endpoints to start.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Adds MassTransit with its in-memory transport, the <see cref="ControlEventLog"/> consumer, any consumers
    /// <paramref name="configure"/> adds, <see cref="IControlEvents"/> and the <see cref="ControlBusMonitor"/>. Call it
    /// before any service that publishes or connects an endpoint: the host starts the bus first and waits until every
    /// receive endpoint is ready (or fails to start, naming why). MassTransit's default does not wait: the host went on
    /// to start the services while the bus was still starting, and a dashboard connecting its endpoint in that window
    /// could make the bus's start fault ("The receive endpoint was already started"), after which the bus stopped every
    /// endpoint and each later event was accepted and dropped.</summary>
    public static IServiceCollection AddControlBus(this IServiceCollection services, Action<IBusRegistrationConfigurator>? configure = null)
    {
        services.AddMassTransit(x =>
        {
            x.AddConsumer<ControlEventLog>();
            configure?.Invoke(x);
            x.UsingInMemory((context, bus) => bus.ConfigureEndpoints(context));
        });
        services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = true;
            o.StartTimeout = StartTimeout;
            o.StopTimeout = TimeSpan.FromSeconds(30);
        });
        services.AddSingleton<ControlBusMonitor>();
        services.AddSingleton<IControlEvents, BusControlEvents>();
        return services;
    }
}
