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
        var points = new Option<int>("--points") { Description = "Synthetic 2-D points to fit", DefaultValueFactory = _ => 1_000_000 };
        var seed = new Option<int>("--seed") { Description = "Seed of the data and the initialisation", DefaultValueFactory = _ => 0 };
        var pointsOut = new Option<string?>("--points-out") { Description = "Also write the points as raw float64 (for a reference fit)" };
        var gmm = new Command("gmm", "EM fit time of a Gaussian mixture on synthetic score statistics") { points, seed, pointsOut, json };
        gmm.SetAction(parse => Bench.GmmBenchmark.Run(parse.GetValue(points), parse.GetValue(seed), parse.GetValue(pointsOut), parse.GetValue(json)));
        var steps = new Option<int>("--steps") { Description = "Training steps per round (the first is not timed)", DefaultValueFactory = _ => 12 };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds over the strategies (the median is reported)", DefaultValueFactory = _ => 3 };
        var strategyList = new Option<string>("--strategies") { Description = "Comma-separated strategies (uniform is always the reference); each " + Bench.StrategyBenchmark.VariantSyntax, DefaultValueFactory = _ => "linupper,quadratic,extremes,meta-em,cluster-heuristic,token-masked" };
        var strategyBatch = new Option<int>("--batch") { Description = "Sequences per step", DefaultValueFactory = _ => 8 };
        var strategyVocab = new Option<int>("--vocab") { Description = "Vocabulary size", DefaultValueFactory = _ => 8192 };
        var strategyBench = new Command("strategies", "Time per training step of each weighting strategy relative to uniform, interleaved")
            { preset, strategyVocab, strategyBatch, seq, steps, rounds, strategyList, device, json };
        strategyBench.SetAction(parse => CommandGuard.Run(() => Bench.StrategyBenchmark.Run(parse.GetValue(preset)!, parse.GetValue(strategyVocab), parse.GetValue(strategyBatch),
            parse.GetValue(seq), parse.GetValue(steps), parse.GetValue(rounds),
            parse.GetValue(strategyList)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), parse.GetValue(device)!, parse.GetValue(json))));
        return new Command("bench", "Benchmarks")
            { torch, model, gmm, strategyBench, GpuCommand(), StorageBenchCommand.CreateSubcommand(), ScorerCommand() };
    }

    private static Command ScorerCommand()
    {
        var model = new Option<string>("--model")
            { Description = "Proxy checkpoint directory (config.json, model.safetensors, tokenizer)", Required = true };
        var corpus = new Option<string>("--corpus") { Description = "Documents to score: " + CorpusFieldOptions.Formats, Required = true };
        var documents = new Option<int?>("--documents") { Description = "Score only the first N documents" };
        var bootstrap = new Option<string?>("--bootstrap")
        {
            Description = "Kafka bootstrap servers for the service (a broker or librdkafka's mock cluster in another process); " +
                          "default: the in-process broker",
        };
        var db = new Option<string?>("--db")
            { Description = "PostgreSQL connection string (default: a private embedded cluster, removed after)" };
        var device = new Option<string>("--device") { Description = "cpu or cuda[:n]", DefaultValueFactory = _ => "cpu" };
        var tokenBudget = new Option<int?>("--token-budget")
            { Description = "The service's Scorer:TokenBudget (default: the service default)" };
        var windowBudget = new Option<int?>("--window-token-budget")
            { Description = "Scorer:WindowTokenBudget, for both paths (default: the service default)" };
        var repeats = new Option<int>("--repeats")
            { Description = "Interleaved runs of both paths (medians reported)", DefaultValueFactory = _ => 1 };
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON to this file" };
        var md = new Option<string?>("--md") { Description = "Also write the results as a Markdown report to this file" };
        var command = new Command("scorer",
                "The scorer service's tokens/s against `lm score` on the same proxy and corpus, with its time per stage")
            { model, corpus, documents, bootstrap, db, device, tokenBudget, windowBudget, repeats, json, md };
        var fields = new CorpusFieldOptions().AddTo(command);
        command.SetAction(parse => CommandGuard.Run(() => Bench.ScorerBenchmark.Run(new Bench.ScorerBenchSettings
        {
            ModelDirectory = parse.GetValue(model)!, Corpus = parse.GetValue(corpus)!, Documents = parse.GetValue(documents),
            Bootstrap = parse.GetValue(bootstrap), Database = parse.GetValue(db), Device = parse.GetValue(device)!,
            Fields = fields.Reader(parse), TokenBudget = parse.GetValue(tokenBudget),
            WindowTokenBudget = parse.GetValue(windowBudget),
            Repeats = parse.GetValue(repeats), JsonPath = parse.GetValue(json), MarkdownPath = parse.GetValue(md),
        })));
        return command;
    }

    private static Command GpuCommand()
    {
        var defaults = new Bench.GpuBenchSettings();
        var device = new Option<string>("--device") { Description = "cuda[:n] (cpu runs the same measurements in float32, for a check)", DefaultValueFactory = _ => defaults.Device };
        var vocab = new Option<int>("--vocab") { Description = "Vocabulary size", DefaultValueFactory = _ => defaults.Vocab };
        var seq = new Option<int>("--seq") { Description = "Tokens per sequence", DefaultValueFactory = _ => defaults.Sequence };
        var scorerPreset = new Option<string>("--scorer-preset") { Description = "Scorer model preset", DefaultValueFactory = _ => defaults.ScorerPreset };
        var scorerBatch = new Option<int>("--scorer-batch") { Description = "Sequences per scoring batch", DefaultValueFactory = _ => defaults.ScorerBatch };
        var repeats = new Option<int>("--repeats") { Description = "Timed scoring batches (the median is reported)", DefaultValueFactory = _ => defaults.Repeats };
        var trainerPreset = new Option<string>("--trainer-preset") { Description = "Trained model preset", DefaultValueFactory = _ => defaults.TrainerPreset };
        var trainerBatch = new Option<int>("--trainer-batch") { Description = "Sequences per optimiser step", DefaultValueFactory = _ => defaults.TrainerBatch };
        var steps = new Option<int>("--steps") { Description = "Optimiser steps per strategy and round (the first is not timed)", DefaultValueFactory = _ => defaults.Steps };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds over the strategies (the median is reported)", DefaultValueFactory = _ => defaults.Rounds };
        var strategies = new Option<string>("--strategies") { Description = "Comma-separated strategies timed against uniform; each " + Bench.StrategyBenchmark.VariantSyntax, DefaultValueFactory = _ => string.Join(',', defaults.Strategies) };
        var peak = new Option<double?>("--peak-tflops") { Description = "The card's dense bfloat16 peak in TFLOP/s (default: from a datasheet table by GPU name)" };
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON to this file" };
        var command = new Command("gpu", "Scorer and trainer tokens/s, reweighting overhead and model FLOPs utilisation on a GPU")
            { device, vocab, seq, scorerPreset, scorerBatch, repeats, trainerPreset, trainerBatch, steps, rounds, strategies, peak, json };
        command.SetAction(parse => CommandGuard.Run(() => Bench.GpuBenchmark.Run(new Bench.GpuBenchSettings
        {
            Device = parse.GetValue(device)!, Vocab = parse.GetValue(vocab), Sequence = parse.GetValue(seq), ScorerPreset = parse.GetValue(scorerPreset)!,
            ScorerBatch = parse.GetValue(scorerBatch), Repeats = parse.GetValue(repeats), TrainerPreset = parse.GetValue(trainerPreset)!,
            TrainerBatch = parse.GetValue(trainerBatch), Steps = parse.GetValue(steps), Rounds = parse.GetValue(rounds),
            Strategies = parse.GetValue(strategies)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            PeakTflops = parse.GetValue(peak), JsonPath = parse.GetValue(json),
        })));
        return command;
    }
}
