using System.Globalization;
using System.Text;

namespace Reweighting.Text.Corpus.Corruption;

/// <summary>An API response pasted as text: a JSON array of records with ids, timestamps, flags, numbers and short
/// strings from the corpus's words.</summary>
/// <remarks>Keys and punctuation repeat and are cheap; ids, times and numbers are not: a moderate mean with high
/// variance, and many short tokens per byte. Held out of tuning.</remarks>
public sealed class JsonDump : NoiseFamily
{
    private static readonly string[] Keys =
        ["id", "name", "title", "status", "created_at", "updated_at", "score", "tags", "owner", "active"];
    private static readonly string[] Statuses = ["ok", "pending", "failed", "archived", "draft"];

    /// <inheritdoc />
    public override string Name => "json-dump";

    /// <inheritdoc />
    public override string Generate(NoiseInput input, Random random)
    {
        var keys = Keys.OrderBy(_ => random.Next()).Take(random.Next(4, Keys.Length + 1)).ToArray();
        var time = new DateTime(2018, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(random.Next(0, 6 * 365 * 86400));
        var text = new StringBuilder(input.TargetLength + 256).Append('[');
        while (text.Length < input.TargetLength)
        {
            if (text.Length > 1) text.Append(',');
            text.Append("\n  {");
            for (var k = 0; k < keys.Length; k++)
            {
                time = time.AddSeconds(random.Next(1, 86400));
                text.Append(k == 0 ? "" : ", ").Append('"').Append(keys[k]).Append("\": ").Append(keys[k] switch
                {
                    "id" => random.Next(1, 10_000_000).ToString(CultureInfo.InvariantCulture),
                    "created_at" or "updated_at" => $"\"{time.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}\"",
                    "score" => (random.NextDouble() * 100).ToString("F3", CultureInfo.InvariantCulture),
                    "active" => random.Next(2) == 0 ? "true" : "false",
                    "status" => $"\"{Pick(Statuses, random)}\"",
                    "tags" => "[" + string.Join(", ", Enumerable.Range(0, random.Next(0, 4))
                        .Select(_ => $"\"{Pick(input.Vocabulary, random).ToLowerInvariant()}\"")) + "]",
                    _ => $"\"{Pick(input.Vocabulary, random)} {Pick(input.Vocabulary, random)}\"",
                });
            }
            text.Append('}');
        }
        return text.Append("\n]").ToString();
    }
}
