using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Reweighting.Scorer.Tests;

/// <summary>Writes log lines to a test's output, with the time since the test started, so a failure shows what the
/// scorer did and when.</summary>
public sealed class TestOutputLoggers(ITestOutputHelper output, LogLevel minimum = LogLevel.Information) : ILoggerFactory
{
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private readonly List<string> _lines = [];

    /// <summary>Every line logged so far.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines) return [.. _lines];
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName[(categoryName.LastIndexOf('.') + 1)..]);

    public void AddProvider(ILoggerProvider provider) { }

    public void Dispose() { }

    private void Write(string line)
    {
        lock (_lines) _lines.Add(line);
        try
        {
            output.WriteLine($"{_clock.Elapsed.TotalSeconds,7:F3} {line}");
        }
        catch (InvalidOperationException)
        {
            // The test is over; a late line from a background thread has nowhere to go.
        }
    }

    private sealed class Logger(TestOutputLoggers owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= owner.Minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            owner.Write($"{logLevel.ToString()[..4]} {category}: {formatter(state, exception)}{(exception is null ? "" : " — " + exception.GetBaseException().Message)}");
        }
    }

    private LogLevel Minimum => minimum;
}
