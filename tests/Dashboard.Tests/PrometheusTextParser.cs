using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Reweighting.Dashboard.Tests;

/// <summary>One sample line.</summary>
public sealed record PromSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>A metric family: its HELP, TYPE and samples.</summary>
public sealed record PromFamily(string Name, string Type, string Help, IReadOnlyList<PromSample> Samples);

/// <summary>A strict reader of Prometheus' text exposition format 0.0.4, stricter than Prometheus itself: every family
/// has one HELP and one TYPE line before its samples, every sample belongs to a typed family (summary and histogram
/// samples by their _sum/_count/_bucket suffixes), a family's samples are contiguous, no sample repeats a label set,
/// names and labels follow the grammar, values are floats (Go syntax: +Inf, -Inf, NaN), and the text ends with a newline.</summary>
public static partial class PrometheusTextParser
{
    private static readonly string[] Types = ["counter", "gauge", "histogram", "summary", "untyped"];

    [GeneratedRegex("^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
    private static partial Regex MetricName();

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex LabelName();

    [GeneratedRegex(@"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")]
    private static partial Regex Float();

    /// <summary>The families of <paramref name="text"/>, by name; throws <see cref="FormatException"/> naming the line.</summary>
    public static IReadOnlyDictionary<string, PromFamily> Parse(string text)
    {
        if (text.Length > 0 && !text.EndsWith('\n')) throw new FormatException("the exposition must end with a newline");
        var help = new Dictionary<string, string>();
        var types = new Dictionary<string, string>();
        var samples = new Dictionary<string, List<PromSample>>();
        var seen = new HashSet<string>();
        string? current = null;
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length - 1; i++)
        {
            var line = lines[i];
            var where = $"line {i + 1} '{line}'";
            if (line.Length == 0) continue;
            if (line.StartsWith('#'))
            {
                var parts = line.Split(' ', 4);
                if (parts.Length >= 3 && parts[1] is "HELP" or "TYPE")
                {
                    var name = parts[2];
                    if (!MetricName().IsMatch(name)) throw new FormatException($"{where}: bad metric name");
                    if (samples.ContainsKey(name)) throw new FormatException($"{where}: {parts[1]} after the family's samples");
                    if (name != current)
                    {
                        if (help.ContainsKey(name) || types.ContainsKey(name)) throw new FormatException($"{where}: family {name} reopened");
                        current = name;
                    }
                    if (parts[1] == "HELP")
                    {
                        if (!help.TryAdd(name, parts.Length > 3 ? Unescape(parts[3]) : "")) throw new FormatException($"{where}: second HELP");
                    }
                    else
                    {
                        if (parts.Length != 4 || !Types.Contains(parts[3])) throw new FormatException($"{where}: TYPE must be one of {string.Join(", ", Types)}");
                        if (!types.TryAdd(name, parts[3])) throw new FormatException($"{where}: second TYPE");
                    }
                }
                continue;
            }
            var sample = ParseSample(line, where);
            var family = FamilyOf(sample.Name, types) ?? throw new FormatException($"{where}: sample of a family with no TYPE line");
            if (family != current) throw new FormatException($"{where}: sample of {family} outside its family's block");
            if (!help.ContainsKey(family)) throw new FormatException($"{where}: family {family} has no HELP line");
            var key = sample.Name + "{" + string.Join(",", sample.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")) + "}";
            if (!seen.Add(key)) throw new FormatException($"{where}: duplicate sample {key}");
            if (types[family] == "summary" && sample.Name == family && !sample.Labels.ContainsKey("quantile"))
                throw new FormatException($"{where}: a summary's sample needs a quantile label");
            if (types[family] is "counter" && sample.Value < 0) throw new FormatException($"{where}: a counter cannot be negative");
            if (!samples.TryGetValue(family, out var list)) samples[family] = list = [];
            list.Add(sample);
        }
        foreach (var name in help.Keys.Where(n => !types.ContainsKey(n))) throw new FormatException($"family {name} has HELP but no TYPE");
        foreach (var name in types.Keys.Where(n => !help.ContainsKey(n))) throw new FormatException($"family {name} has TYPE but no HELP");
        return types.ToDictionary(t => t.Key, t => new PromFamily(t.Key, t.Value, help[t.Key], samples.GetValueOrDefault(t.Key) ?? []));
    }

    private static string? FamilyOf(string sample, Dictionary<string, string> types)
    {
        if (types.ContainsKey(sample)) return sample;
        foreach (var suffix in new[] { "_sum", "_count", "_bucket" })
        {
            if (!sample.EndsWith(suffix, StringComparison.Ordinal)) continue;
            var family = sample[..^suffix.Length];
            if (types.TryGetValue(family, out var type) && (type == "histogram" || (type == "summary" && suffix != "_bucket"))) return family;
        }
        return null;
    }

    private static PromSample ParseSample(string line, string where)
    {
        var i = 0;
        while (i < line.Length && line[i] != '{' && line[i] != ' ') i++;
        var name = line[..i];
        if (!MetricName().IsMatch(name)) throw new FormatException($"{where}: bad metric name '{name}'");
        var labels = new Dictionary<string, string>();
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                if (i < line.Length && line[i] == '}') { i++; break; }
                var eq = line.IndexOf('=', i);
                if (eq < 0) throw new FormatException($"{where}: label without '='");
                var label = line[i..eq];
                if (!LabelName().IsMatch(label) || label.StartsWith("__")) throw new FormatException($"{where}: bad label name '{label}'");
                i = eq + 1;
                if (i >= line.Length || line[i] != '"') throw new FormatException($"{where}: label value must be quoted");
                i++;
                var value = new StringBuilder();
                while (true)
                {
                    if (i >= line.Length) throw new FormatException($"{where}: unterminated label value");
                    var c = line[i++];
                    if (c == '"') break;
                    if (c == '\\')
                    {
                        if (i >= line.Length) throw new FormatException($"{where}: dangling escape");
                        var e = line[i++];
                        value.Append(e switch { '\\' => '\\', '"' => '"', 'n' => '\n', _ => throw new FormatException($"{where}: bad escape \\{e}") });
                    }
                    else value.Append(c);
                }
                if (!labels.TryAdd(label, value.ToString())) throw new FormatException($"{where}: label {label} twice");
                if (i < line.Length && line[i] == ',') i++;
                else if (i >= line.Length || line[i] != '}') throw new FormatException($"{where}: expected ',' or '}}' after a label");
            }
        }
        if (i >= line.Length || line[i] != ' ') throw new FormatException($"{where}: expected one space before the value");
        var rest = line[(i + 1)..].Split(' ');
        if (rest.Length is < 1 or > 2) throw new FormatException($"{where}: expected a value and an optional timestamp");
        if (rest.Length == 2 && !long.TryParse(rest[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
            throw new FormatException($"{where}: the timestamp must be an integer");
        return new PromSample(name, labels, ParseValue(rest[0], where));
    }

    private static double ParseValue(string text, string where) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ when Float().IsMatch(text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
        _ => throw new FormatException($"{where}: '{text}' is not a float"),
    };

    private static string Unescape(string text) => text.Replace("\\n", "\n").Replace("\\\\", "\\");
}
