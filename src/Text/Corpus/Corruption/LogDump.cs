using System.Globalization;
using System.Text;

namespace Reweighting.Text.Corpus.Corruption;

/// <summary>Machine output pasted as text: timestamped server log lines, or a pipe-separated table of numbers.</summary>
/// <remarks>
/// Fixed templates are predictable and the numbers, ids and hashes in them are not, giving a regular alternation of
/// low and high token losses: a moderate mean with high variance.
/// </remarks>
public sealed class LogDump : NoiseFamily
{
    private static readonly string[] Levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"];
    private static readonly string[] Components = ["http", "worker", "scheduler", "db.pool", "cache", "auth"];
    private static readonly string[] Messages =
    [
        "GET /api/v{0}/items/{1} 200 {2}ms",
        "request_id={3} user={1} latency_ms={2} status=200",
        "connection {3} closed after {2} ms (pool size {0})",
        "retrying job {1} attempt {0}/5: timeout after {2}ms",
        "cache miss key=obj:{3} size={1}",
    ];

    /// <inheritdoc />
    public override string Name => "log-dump";

    /// <inheritdoc />
    public override string Generate(NoiseInput input, Random random) =>
        random.Next(2) == 0 ? Log(input, random) : Table(input, random);

    private static string Log(NoiseInput input, Random random)
    {
        var time = new DateTime(2019, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(random.Next(0, 5 * 365 * 86400));
        var text = new StringBuilder(input.TargetLength + 128);
        while (text.Length < input.TargetLength)
        {
            if (text.Length > 0) text.Append('\n');
            time = time.AddMilliseconds(random.Next(1, 5000));
            var message = string.Format(CultureInfo.InvariantCulture, Pick(Messages, random),
                random.Next(1, 9), random.Next(1, 1_000_000), random.Next(1, 3000), random.NextInt64().ToString("x16", CultureInfo.InvariantCulture));
            text.Append(time.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture))
                .Append(' ').Append(Pick(Levels, random))
                .Append(" [").Append(Pick(Components, random)).Append('-').Append(random.Next(1, 16)).Append("] ")
                .Append(message);
        }
        return text.ToString();
    }

    private static string Table(NoiseInput input, Random random)
    {
        var columns = random.Next(3, 8);
        var text = new StringBuilder(input.TargetLength + 128);
        text.Append('|');
        for (var c = 0; c < columns; c++)
            text.Append(' ').Append(input.Vocabulary.Count > 0 ? Pick(input.Vocabulary, random) : $"col{c}").Append(" |");
        text.Append("\n|").Append(string.Concat(Enumerable.Repeat("---|", columns)));
        while (text.Length < input.TargetLength)
        {
            text.Append("\n|");
            for (var c = 0; c < columns; c++)
            {
                var cell = random.Next(3) switch
                {
                    0 => random.Next(0, 100000).ToString(CultureInfo.InvariantCulture),
                    1 => (random.NextDouble() * 1000).ToString("F3", CultureInfo.InvariantCulture),
                    _ => random.Next(0x1000000).ToString("x6", CultureInfo.InvariantCulture),
                };
                text.Append(' ').Append(cell).Append(" |");
            }
        }
        return text.ToString();
    }
}
