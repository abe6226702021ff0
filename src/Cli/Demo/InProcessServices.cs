using Microsoft.Extensions.Logging;
using Reweighting.Contracts.Control;
using Reweighting.Messaging;

namespace Reweighting.Cli.Demo;

/// <summary>What the demo hears on the control bus: the stages' progress lines. Nothing waits on it: events may come
/// late or not at all, and the stages end on what PostgreSQL holds.</summary>
internal sealed class DemoEvents
{
    private readonly Lock _gate = new();
    private readonly List<ControlEvent> _events = [];
    private long _documents;
    private long _deadLetters;

    /// <summary>Called with every event, for the progress line.</summary>
    public Action<ControlEvent>? Listener { get; set; }

    public long Documents => Interlocked.Read(ref _documents);

    public long DeadLetters => Interlocked.Read(ref _deadLetters);

    public IReadOnlyList<T> All<T>() where T : ControlEvent
    {
        lock (_gate) return _events.OfType<T>().ToList();
    }

    public void Add(ControlEvent e)
    {
        lock (_gate) _events.Add(e);
        if (e is BatchScored batch)
        {
            Interlocked.Add(ref _documents, batch.Documents);
            Interlocked.Add(ref _deadLetters, batch.DeadLettered);
        }
        Listener?.Invoke(e);
    }
}

/// <summary>Hands every control event of the bus to <see cref="DemoEvents"/>.</summary>
internal sealed class DemoEventConsumer(DemoEvents sink) : ControlEventConsumer
{
    protected override Task HandleAsync(ControlEvent controlEvent, CancellationToken ct)
    {
        sink.Add(controlEvent);
        return Task.CompletedTask;
    }
}

/// <summary>The services' logs in the demo: warnings and errors to stderr, the trainer's step lines to the progress
/// line, everything when verbose.</summary>
internal sealed class DemoLogProvider(Action<string> progress, bool verbose) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, progress, verbose);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, Action<string> progress, bool verbose) : ILogger
    {
        private readonly string _shortName = category[(category.LastIndexOf('.') + 1)..];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var message = formatter(state, exception);
            if (verbose || logLevel >= LogLevel.Warning)
            {
                // MassTransit and Npgsql report their own transient states at Warning; the demo's user wants the product's.
                if (!verbose && !category.StartsWith("Reweighting", StringComparison.Ordinal)) return;
                Console.Error.WriteLine($"  [{logLevel.ToString().ToLowerInvariant()}] {_shortName}: {message}{(exception is null ? "" : " (" + exception.Message + ")")}");
            }
            else if (_shortName == "StreamingTrainer" && message.StartsWith("step ", StringComparison.Ordinal))
            {
                progress(message);
            }
        }
    }
}
