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

        var preset = new Option<string>("--preset") { Description = "Model preset (tiny, gpt2-small, gpt2-medium)", DefaultValueFactory = _ => "tiny" };
        var vocab = new Option<int>("--vocab") { Description = "Vocabulary size", DefaultValueFactory = _ => 50257 };
        var batch = new Option<int>("--batch") { Description = "Sequences per batch", DefaultValueFactory = _ => 8 };
        var seq = new Option<int>("--seq") { Description = "Tokens per sequence", DefaultValueFactory = _ => 64 };
        var repeats = new Option<int>("--repeats") { Description = "Timed repetitions (the median is reported)", DefaultValueFactory = _ => 5 };
        var device = new Option<string>("--device") { Description = "cpu or cuda[:n]", DefaultValueFactory = _ => "cpu" };
        var model = new Command("model", "Scoring and training tokens/s of a GPT preset") { preset, vocab, batch, seq, repeats, device, json };
        model.SetAction(parse => Bench.ModelBenchmark.Run(parse.GetValue(preset)!, parse.GetValue(vocab), parse.GetValue(batch), parse.GetValue(seq),
            parse.GetValue(repeats), parse.GetValue(device)!, parse.GetValue(json)));
        return new Command("bench", "Benchmarks") { torch, model, StorageBenchCommand.CreateSubcommand() };
    }
}
