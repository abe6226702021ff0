using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Reweighting.Benchmarks;

/// <summary>Runs the benchmarks BenchmarkDotNet's command line selects (<c>--filter '*'</c> for all of them).</summary>
public static class Program
{
    /// <summary>One short job, in this process: 3 warm-up and 5 measured iterations, no separate build per benchmark, so
    /// the whole suite fits in minutes on a small shared machine. Markdown and JSON reports, allocations per operation.</summary>
    public static ManualConfig Config() => ManualConfig.CreateEmpty()
        .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(5).WithId("short-in-process"))
        .AddColumnProvider(DefaultColumnProviders.Instance)
        .AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default)
        .AddExporter(MarkdownExporter.GitHub, JsonExporter.Full)
        .AddDiagnoser(MemoryDiagnoser.Default);

    /// <summary>Entry point: BenchmarkDotNet's switcher over this assembly.</summary>
    public static int Main(string[] args)
    {
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, Config());
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
