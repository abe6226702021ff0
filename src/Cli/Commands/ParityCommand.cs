using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Gpt;
using Reweighting.Torch;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight lm parity`: imports a Hugging Face GPT-2 checkpoint and checks that it scores the reference's
/// inputs with the reference's per-token losses, in float32 and under bfloat16 autocast
/// (the reference comes from bench/reference/hf_parity.py).</summary>
internal static class ParityCommand
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // a NaN loss is reported, not a crash
    };

    internal static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Hugging Face GPT-2 directory (config.json, model.safetensors)", Required = true };
        var inputs = new Option<string>("--inputs") { Description = "inputs.json: {\"ids\": [[...], ...]}, B rows of T token ids", Required = true };
        var expected = new Option<string>("--expected") { Description = "losses.json: {\"float32\": [[...]], \"bfloat16\": [[...]]}, B rows of T-1 losses", Required = true };
        var device = new Option<string>("--device") { Description = "cpu or cuda[:n]", DefaultValueFactory = _ => "cpu" };
        var toleranceFp32 = new Option<double>("--tolerance-fp32") { Description = "Largest allowed |difference| of a float32 loss (nats)", DefaultValueFactory = _ => ParityCheck.Float32Tolerance };
        var toleranceBf16 = new Option<double>("--tolerance-bf16") { Description = "Largest allowed |difference| of a bfloat16-autocast loss (nats)", DefaultValueFactory = _ => ParityCheck.BFloat16Tolerance };
        var json = new Option<string?>("--json") { Description = "Write the figures as JSON to this file (- for stdout)" };
        var command = new Command("parity",
            "Check an imported Hugging Face GPT-2 against the per-token losses transformers computed (exit 0 when float32 and bfloat16 both pass)")
        {
            checkpoint, inputs, expected, device, toleranceFp32, toleranceBf16, json,
        };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            // Bad input exits 2; a check that ran and failed exits 1.
            var dir = parse.GetValue(checkpoint)!;
            if (!Directory.Exists(dir)) return CommandGuard.Fail($"checkpoint directory not found: {dir}", 2);
            foreach (var file in new[] { parse.GetValue(inputs)!, parse.GetValue(expected)! })
                if (!File.Exists(file)) return CommandGuard.Fail($"file not found: {file}", 2);
            var tolerances = new Dictionary<ParityPrecision, double>
            {
                [ParityPrecision.Float32] = parse.GetValue(toleranceFp32),
                [ParityPrecision.BFloat16] = parse.GetValue(toleranceBf16),
            };
            if (tolerances.Values.Any(t => !(t > 0))) return CommandGuard.Fail("tolerances must be positive", 2);
            Device dev;
            try
            {
                dev = Device.Parse(parse.GetValue(device)!);
            }
            catch (FormatException e)
            {
                return CommandGuard.Fail(e.Message, 2);
            }

            long[][] ids;
            ParityReference reference;
            try
            {
                ids = ParityCheck.ReadInputs(parse.GetValue(inputs)!);
                reference = ParityCheck.ReadReference(parse.GetValue(expected)!);
            }
            catch (InvalidDataException e)
            {
                return CommandGuard.Fail(e.Message, 2);
            }

            var progress = new ConsoleProgress();
            progress.Report($"importing {dir} onto {dev}", force: true);
            GptModel model;
            try
            {
                model = HuggingFaceGpt2.Import(dir, dev);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException)
            {
                return CommandGuard.Fail($"cannot import {dir}: {e.Message}", 2);
            }
            using (model)
            {
                try
                {
                    ParityCheck.Validate(model.Config, ids);
                }
                catch (ArgumentException e)
                {
                    return CommandGuard.Fail($"{parse.GetValue(inputs)}: {e.Message}", 2);
                }
                var jsonPath = parse.GetValue(json);
                var report = jsonPath == "-" ? Console.Error : Console.Out; // stdout then holds the JSON alone
                if (reference.Provenance.Count > 0)
                    report.WriteLine("reference: " + string.Join(", ", reference.Provenance.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}")));
                IReadOnlyList<PrecisionParity> results;
                try
                {
                    results = ParityCheck.Run(model, ids, reference, dev, tolerances,
                        p => progress.Report($"scoring {ids.Length}×{ids[0].Length} ids in {p.Name()} on {dev}", force: true));
                }
                catch (InvalidDataException e)
                {
                    return CommandGuard.Fail(e.Message, 2); // the reference's tables do not match the inputs' shape
                }
                foreach (var r in results) report.WriteLine(Line(r));
                if (jsonPath is not null) WriteJson(jsonPath, results, reference, dev, ids);
                var failed = results.Where(r => !r.Passed).ToList();
                if (failed.Count == 0) return 0;
                return CommandGuard.Fail("parity failed: " + string.Join("; ", failed.Select(r =>
                    $"{r.Precision.Name()} max |diff| {Figure(r.MaxAbsDiff)} exceeds {Figure(r.Tolerance)} at row {r.WorstRow}, position {r.WorstPosition}")), 1);
            }
        }));
        return command;
    }

    private static string Line(PrecisionParity r) =>
        $"{r.Precision.Name(),-9} max |diff| {Figure(r.MaxAbsDiff)}  mean |diff| {Figure(r.MeanAbsDiff)}  tolerance {Figure(r.Tolerance)}  " +
        $"{(r.Passed ? "pass" : "FAIL")}  (worst: row {r.WorstRow}, position {r.WorstPosition}: expected {r.WorstExpected.ToString("R", CultureInfo.InvariantCulture)}, " +
        $"got {r.WorstActual.ToString("R", CultureInfo.InvariantCulture)}; {r.Tokens} tokens)";

    private static string Figure(double x) => x.ToString("0.###e+00", CultureInfo.InvariantCulture);

    private static void WriteJson(string path, IReadOnlyList<PrecisionParity> results, ParityReference reference, Device device, long[][] ids)
    {
        var report = new Dictionary<string, object>
        {
            ["passed"] = results.All(r => r.Passed),
            ["device"] = device.ToString(),
            ["libtorch"] = Torch.Torch.LibTorchVersion,
            ["rows"] = ids.Length,
            ["ids_per_row"] = ids[0].Length,
            ["reference"] = reference.Provenance,
        };
        foreach (var r in results)
        {
            report[r.Precision.Name()] = new
            {
                passed = r.Passed, max_abs_diff = r.MaxAbsDiff, mean_abs_diff = r.MeanAbsDiff, tolerance = r.Tolerance, tokens = r.Tokens,
                worst = new { row = r.WorstRow, position = r.WorstPosition, expected = r.WorstExpected, actual = r.WorstActual },
            };
        }
        var text = JsonSerializer.Serialize(report, Json);
        if (path == "-") Console.WriteLine(text);
        else File.WriteAllText(path, text + Environment.NewLine);
    }
}
