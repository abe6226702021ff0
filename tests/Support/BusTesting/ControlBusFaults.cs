using MassTransit;

namespace Reweighting.Testing.Bus;

/// <summary>Faults a test puts into a control bus through its registration (AddControlBus's configure action).</summary>
public static class ControlBusFaults
{
    /// <summary>Every receive endpoint consumes and discards each message: publishing succeeds, nothing is delivered.</summary>
    public static Action<IBusRegistrationConfigurator> DropDelivery() =>
        x => x.AddConfigureEndpointsCallback((_, endpoint) => endpoint.UseFilter(new DelayOrDrop(null)));

    /// <summary>Every receive endpoint hands each message to its consumer <paramref name="delay"/> late.</summary>
    public static Action<IBusRegistrationConfigurator> DelayDelivery(TimeSpan delay) =>
        x => x.AddConfigureEndpointsCallback((_, endpoint) => endpoint.UseFilter(new DelayOrDrop(delay)));

    /// <summary>The bus takes <paramref name="delay"/> longer to start (its pre-start observers run first).</summary>
    public static Action<IBusRegistrationConfigurator> SlowStart(TimeSpan delay) => x => x.AddBusObserver(_ => new SlowStartObserver(delay));

    /// <summary>The bus keeps a thread busy for <paramref name="spin"/> before it starts its endpoints, as a loaded machine
    /// would: unlike <see cref="SlowStart"/>'s timer, this shifts the start against the other hosted services' by a few
    /// hundred microseconds either way. <paramref name="faulted"/> hears a start that failed.</summary>
    public static Action<IBusRegistrationConfigurator> BusyStart(TimeSpan spin, Action<Exception>? faulted = null) =>
        x => x.AddBusObserver(_ => new SlowStartObserver(spin, busy: true, faulted));

    private sealed class DelayOrDrop(TimeSpan? delay) : IFilter<ConsumeContext>
    {
        public async Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
        {
            if (delay is not { } wait) return;
            await Task.Delay(wait, context.CancellationToken);
            await next.Send(context);
        }

        public void Probe(ProbeContext context) => context.CreateFilterScope(delay is null ? "drop" : "delay");
    }

    private sealed class SlowStartObserver(TimeSpan delay, bool busy = false, Action<Exception>? faulted = null) : IBusObserver
    {
        public void PostCreate(IBus bus)
        {
        }

        public void CreateFaulted(Exception exception)
        {
        }

        public Task PreStart(IBus bus) => busy ? Task.Run(() => Spin(delay)) : Task.Delay(delay);

        private static void Spin(TimeSpan time)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (clock.Elapsed < time)
            {
            }
        }

        public Task PostStart(IBus bus, Task<BusReady> busReady) => Task.CompletedTask;

        public Task StartFaulted(IBus bus, Exception exception)
        {
            faulted?.Invoke(exception);
            return Task.CompletedTask;
        }

        public Task PreStop(IBus bus) => Task.CompletedTask;

        public Task PostStop(IBus bus) => Task.CompletedTask;

        public Task StopFaulted(IBus bus, Exception exception) => Task.CompletedTask;
    }
}
