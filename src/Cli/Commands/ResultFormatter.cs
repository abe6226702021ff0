using System.Globalization;
using System.Text.Json;

namespace Reweighting.Cli.Commands;

/// <summary>Prints rows as an aligned table for people, or JSON / CSV for programs.</summary>
internal static class ResultFormatter
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Writes <paramref name="rows"/> (one value per column) in <paramref name="format"/>.</summary>
    public static void Write(string format, IReadOnlyList<string> columns, IEnumerable<object?[]> rows, TextWriter? output = null)
    {
        output ??= Console.Out;
        var materialised = rows.ToList();
        switch (format)
        {
            case "json":
                var objects = materialised.Select(r => columns.Select((c, i) => (c, r[i])).ToDictionary(p => p.c, p => p.Item2));
                output.WriteLine(JsonSerializer.Serialize(objects, Json));
                break;
            case "csv":
                output.WriteLine(string.Join(',', columns.Select(Csv)));
                foreach (var r in materialised) output.WriteLine(string.Join(',', r.Select(v => Csv(Text(v)))));
                break;
            default:
                WriteTable(output, columns, materialised.Select(r => r.Select(v => OneLine(Text(v))).ToArray()).ToList());
                break;
        }
    }

    private static void WriteTable(TextWriter output, IReadOnlyList<string> columns, List<string[]> rows)
    {
        var widths = columns.Select((c, i) => Math.Max(c.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        output.WriteLine(string.Join("  ", columns.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        output.WriteLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var r in rows) output.WriteLine(string.Join("  ", r.Select((v, i) => v.PadRight(widths[i]))).TrimEnd());
        output.WriteLine($"({rows.Count} row{(rows.Count == 1 ? "" : "s")})");
    }

    private static string Text(object? value) => value switch
    {
        null => "",
        double d => d.ToString("0.####", CultureInfo.InvariantCulture),
        DateTimeOffset t => t.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string OneLine(string s)
    {
        var flat = s.Replace('\n', ' ').Replace('\r', ' ').Replace('\t', ' ');
        return flat.Length <= 60 ? flat : flat[..57] + "...";
    }

    private static string Csv(string s) =>
        s.IndexOfAny([',', '"', '\n', '\r']) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";
}
