using System.Collections.Concurrent;
using FluentAssertions;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Reweighting.Contracts;
using Reweighting.Contracts.Control;
using Reweighting.Messaging;
using Xunit;

namespace Reweighting.Contracts.Tests;

public sealed class ControlBusTests
{
    public sealed class Sink
    {
        public ConcurrentQueue<ControlEvent> Events { get; } = new();
    }

    public sealed class Recorder(Sink sink) : ControlEventConsumer
    {
        protected override Task HandleAsync(ControlEvent controlEvent, CancellationToken ct)
        {
            sink.Events.Enqueue(controlEvent);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public void The_all_events_consumer_consumes_every_control_event_the_contracts_define()
    {
        var defined = typeof(ControlEvent).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(ControlEvent)) && !t.IsAbstract).ToHashSet();
        var consumed = typeof(ControlEventConsumer).GetInterfaces()
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IConsumer<>))
            .Select(i => i.GetGenericArguments()[0]).ToHashSet();
        defined.Should().NotBeEmpty();
        consumed.Should().BeEquivalentTo(defined);
    }

    [Fact]
    public async Task Events_published_on_the_in_memory_bus_arrive_whole_under_their_own_type()
    {
        var builder = Host.CreateApplicationBuilder([]);
        builder.Services.AddSingleton<Sink>();
        builder.Services.AddControlBus(x => x.AddConsumer<Recorder>());
        using var host = builder.Build();
        await host.StartAsync();
        var events = host.Services.GetRequiredService<IControlEvents>();
        var checkpointed = new TrainerCheckpointed("run-1", 40, "/ckpt/step-40", [new ConsumerOffset("trainer", "scored-batches", 1, 17)]);
        var refitted = new GmmRefitted(3, "proxy-a", 3, 2000, -1.25);
        await events.PublishAsync(checkpointed);
        events.Publish(refitted);

        var sink = host.Services.GetRequiredService<Sink>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (sink.Events.Count < 2 && DateTime.UtcNow < deadline) await Task.Delay(20);
        await host.StopAsync();

        sink.Events.Should().HaveCount(2);
        var got = sink.Events.OfType<TrainerCheckpointed>().Single();
        got.Should().BeEquivalentTo(checkpointed);
        got.Offsets.Should().ContainSingle().Which.Should().Be(new ConsumerOffset("trainer", "scored-batches", 1, 17));
        sink.Events.OfType<GmmRefitted>().Single().Should().Be(refitted);
    }
}
