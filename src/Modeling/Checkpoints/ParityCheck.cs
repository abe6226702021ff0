using System.Text.Json;
using System.Text.Json.Nodes;
using Reweighting.Modeling.Gpt;
using Reweighting.Torch;
using static Reweighting.Torch.Torch;

namespace Reweighting.Modeling.Checkpoints;

/// <summary>The precisions a parity check scores in.</summary>
public enum ParityPrecision
{
    /// <summary>Plain float32, no autocast. libtorch leaves TF32 off for float32 matmuls unless asked
    /// (allowTF32CuBLAS is false by default since 1.12, and this product never turns it on).</summary>
    Float32,

    /// <summary>bfloat16 autocast on the scoring device, as <c>torch.autocast(device, dtype=torch.bfloat16)</c>.</summary>
    BFloat16,
}

/// <summary>Per-token losses a reference implementation computed for the same inputs (bench/reference/hf_parity.py
/// writes them from Hugging Face transformers), one (B, T-1) table per precision, and where they came from.</summary>
public sealed record ParityReference(IReadOnlyDictionary<ParityPrecision, float[][]> Losses, IReadOnlyDictionary<string, string> Provenance);

/// <summary>How one precision's losses compare with the reference's: max and mean absolute difference over every
/// predicted token, and the token with the largest difference (row, position: the loss of predicting token
/// position+1). A NaN anywhere makes the max NaN, which fails.</summary>
public sealed record PrecisionParity(
    ParityPrecision Precision,
    double Tolerance,
    double MaxAbsDiff,
    double MeanAbsDiff,
    long Tokens,
    int WorstRow,
    int WorstPosition,
    double WorstExpected,
    double WorstActual)
{
    /// <summary>Whether every token is within the tolerance.</summary>
    public bool Passed => MaxAbsDiff <= Tolerance;
}

/// <summary>Checks that a model scores token ids as a reference implementation does: the same per-token losses in
/// float32 (no TF32; tolerance 1e-4 by default) and under bfloat16 autocast (2e-2), the model imported from the
/// reference's own checkpoint (<see cref="HuggingFaceGpt2.Import"/>).</summary>
public static class ParityCheck
{
    /// <summary>Default tolerances: float32 differs only by summation order; bfloat16 also by where each
    /// implementation rounds (transformers' gelu_new rounds each elementwise step, the fused tanh GELU once).</summary>
    public const double Float32Tolerance = 1e-4, BFloat16Tolerance = 2e-2;

    /// <summary>The JSON key of a precision in losses.json and in reports.</summary>
    public static string Name(this ParityPrecision precision) => precision switch
    {
        ParityPrecision.Float32 => "float32",
        ParityPrecision.BFloat16 => "bfloat16",
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, null),
    };

    /// <summary>Token ids from inputs.json: <c>{"ids": [[...], ...]}</c> or a bare list of rows, all of one length
    /// of at least two tokens.</summary>
    public static long[][] ReadInputs(string path)
    {
        var root = ParseFile(path);
        var rows = (root is JsonObject o ? o["ids"] : root) as JsonArray ?? throw Bad(path, "expected {\"ids\": [[...], ...]} or a list of rows");
        var ids = rows.Select((r, i) => ReadRow<long>(path, $"ids[{i}]", r)).ToArray();
        if (ids.Length == 0) throw Bad(path, "holds no rows");
        if (ids.Any(r => r.Length != ids[0].Length)) throw Bad(path, "rows differ in length; every row must have the same number of ids");
        if (ids[0].Length < 2) throw Bad(path, $"rows have {ids[0].Length} id(s); a prediction needs at least two");
        return ids;
    }

    /// <summary>The reference losses from losses.json: <c>"float32"</c> and <c>"bfloat16"</c> tables of (B, T-1) losses,
    /// plus the string or number fields that say what produced them (torch, transformers, device, attn_implementation).</summary>
    public static ParityReference ReadReference(string path)
    {
        if (ParseFile(path) is not JsonObject o) throw Bad(path, "must hold a JSON object");
        var losses = new Dictionary<ParityPrecision, float[][]>();
        foreach (var precision in Enum.GetValues<ParityPrecision>())
        {
            if (o[precision.Name()] is not JsonArray table) throw Bad(path, $"lacks the '{precision.Name()}' table of per-token losses");
            losses[precision] = table.Select((r, i) => ReadRow<float>(path, $"{precision.Name()}[{i}]", r)).ToArray();
        }
        var provenance = o.Where(kv => kv.Value is JsonValue v && v.GetValueKind() is JsonValueKind.String or JsonValueKind.Number)
            .ToDictionary(kv => kv.Key, kv => kv.Value!.GetValueKind() == JsonValueKind.String ? kv.Value.GetValue<string>() : kv.Value.ToJsonString());
        return new ParityReference(losses, provenance);
    }

    /// <summary>The (B, T-1) per-token losses of <paramref name="ids"/> (B rows of T), without gradients, in eval mode, on
    /// <paramref name="device"/> (where the model must already be).</summary>
    public static float[][] Score(GptModel model, long[][] ids, Device device, ParityPrecision precision)
    {
        Validate(model.Config, ids);
        int b = ids.Length, t = ids[0].Length;
        var flat = new long[b * t];
        var targets = new long[b * t];
        for (var r = 0; r < b; r++)
        {
            ids[r].CopyTo(flat, r * t);
            // Every row is fed whole, as transformers is; the last position predicts nothing.
            for (var i = 0; i < t; i++) targets[r * t + i] = i + 1 < t ? ids[r][i + 1] : GptModel.IgnoreIndex;
        }
        float[] losses;
        var wasTraining = model.IsTraining;
        model.Eval();
        try
        {
            using var scope = DisposeScope.Open();
            using var noGrad = NoGrad();
            using var autocast = precision == ParityPrecision.BFloat16 ? Autocast(device.Type) : default(AutocastScope?);
            losses = model.TokenLosses(FromSpan<long>(flat, [b, t], device), FromSpan<long>(targets, [b, t], device)).ToArray<float>(); // (B, T)
        }
        finally
        {
            model.Train(wasTraining);
        }
        return Enumerable.Range(0, b).Select(r => losses.AsSpan(r * t, t - 1).ToArray()).ToArray();
    }

    /// <summary>Compares <paramref name="actual"/> with <paramref name="expected"/>, both (B, T-1); throws
    /// <see cref="InvalidDataException"/> when their shapes differ.</summary>
    public static PrecisionParity Compare(ParityPrecision precision, float[][] actual, float[][] expected, double tolerance)
    {
        if (actual.Length != expected.Length)
            throw new InvalidDataException($"{precision.Name()}: the reference has {expected.Length} rows of losses, the inputs {actual.Length}");
        double max = 0, sum = 0;
        long tokens = 0;
        (int Row, int Position) worst = (0, 0);
        for (var r = 0; r < actual.Length; r++)
        {
            if (actual[r].Length != expected[r].Length)
                throw new InvalidDataException($"{precision.Name()}[{r}]: the reference has {expected[r].Length} losses, the inputs give {actual[r].Length} predictions");
            for (var i = 0; i < actual[r].Length; i++)
            {
                var diff = Math.Abs((double)actual[r][i] - expected[r][i]);
                sum += diff;
                tokens++;
                // NaN compares false both ways: the first NaN becomes the worst and stays so.
                if (diff > max || (double.IsNaN(diff) && !double.IsNaN(max)))
                {
                    max = diff;
                    worst = (r, i);
                }
            }
        }
        if (tokens == 0) throw new InvalidDataException($"{precision.Name()}: no losses to compare");
        return new PrecisionParity(precision, tolerance, max, sum / tokens, tokens, worst.Row, worst.Position,
            expected[worst.Row][worst.Position], actual[worst.Row][worst.Position]);
    }

    /// <summary>Scores <paramref name="ids"/> in every precision and compares each with the reference.</summary>
    public static IReadOnlyList<PrecisionParity> Run(GptModel model, long[][] ids, ParityReference reference, Device device,
        IReadOnlyDictionary<ParityPrecision, double> tolerances, Action<ParityPrecision>? starting = null)
    {
        var results = new List<PrecisionParity>();
        foreach (var precision in Enum.GetValues<ParityPrecision>())
        {
            starting?.Invoke(precision);
            var actual = Score(model, ids, device, precision);
            results.Add(Compare(precision, actual, reference.Losses[precision], tolerances[precision]));
        }
        return results;
    }

    /// <summary>Refuses ids the model cannot score, naming the first bad one.</summary>
    public static void Validate(GptConfig config, long[][] ids)
    {
        if (ids.Length == 0 || ids[0].Length < 2) throw new ArgumentException("parity inputs need at least one row of two or more ids");
        if (ids.Any(r => r.Length != ids[0].Length)) throw new ArgumentException("parity input rows differ in length");
        if (ids[0].Length > config.ContextLength)
            throw new ArgumentException($"rows of {ids[0].Length} ids exceed the model's context length {config.ContextLength}");
        for (var r = 0; r < ids.Length; r++)
            for (var i = 0; i < ids[r].Length; i++)
                if (ids[r][i] < 0 || ids[r][i] >= config.VocabSize)
                    throw new ArgumentException($"ids[{r}][{i}] = {ids[r][i]} is outside the vocabulary [0, {config.VocabSize})");
    }

    private static JsonNode? ParseFile(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw Bad(path, $"is not valid JSON: {e.Message}");
        }
    }

    private static T[] ReadRow<T>(string path, string where, JsonNode? row)
    {
        if (row is not JsonArray values) throw Bad(path, $"{where} is not a list");
        try
        {
            return values.Select(v => v is null ? throw Bad(path, $"{where} holds null") : v.GetValue<T>()).ToArray();
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw Bad(path, $"{where} holds a value that is not {(typeof(T) == typeof(long) ? "an integer id" : "a number")}");
        }
    }

    private static InvalidDataException Bad(string path, string problem) => new($"{path}: {problem}");
}
