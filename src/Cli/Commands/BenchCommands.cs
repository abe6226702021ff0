using System.CommandLine;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight bench ...`: benchmarks; each prints figures next to a reference run of the same invocation.</summary>
internal static class BenchCommands
{
    public static Command Create()
    {
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON to this file" };
        var torch = new Command("torch", "Binding overhead per call and float32 matmul throughput") { json };
        torch.SetAction(parse => Bench.TorchBenchmark.Run(parse.GetValue(json)));
        return new Command("bench", "Benchmarks") { torch };
    }
}
