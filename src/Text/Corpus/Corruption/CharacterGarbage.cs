using System.Text;

namespace Reweighting.Text.Corpus.Corruption;

/// <summary>Random characters in word-like runs: letters, digits, symbols and a few non-Latin scripts.</summary>
/// <remarks>Nearly every token is unpredictable, so the mean loss is high and the variance moderate.</remarks>
public sealed class CharacterGarbage : NoiseFamily
{
    private const string Symbols = "!#$%&*+-/<=>?@^_|~;:{}[]()\\`'\"";
    private const string Letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    private const string Foreign = "ЖЯщфλΣπΩ☃★♠♣→∑∂漢字가나ąęłźß";

    /// <inheritdoc />
    public override string Name => "char-garbage";

    /// <inheritdoc />
    public override string Generate(NoiseInput input, Random random)
    {
        var text = new StringBuilder(input.TargetLength + 16);
        while (text.Length < input.TargetLength)
        {
            var length = random.Next(1, 12);
            for (var i = 0; i < length; i++)
            {
                var roll = random.NextDouble();
                var alphabet = roll < 0.45 ? Symbols : roll < 0.9 ? Letters : Foreign;
                text.Append(alphabet[random.Next(alphabet.Length)]);
            }
            text.Append(random.Next(10) == 0 ? '\n' : ' ');
        }
        return text.ToString().TrimEnd();
    }
}
