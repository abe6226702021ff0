using System.Text;

namespace Reweighting.Text.Corpus.Corruption;

/// <summary>A base64 or hexadecimal dump of random bytes, in fixed-width lines as e-mail and PEM files wrap them.</summary>
/// <remarks>Uniform over a small alphabet: high mean loss with low variance, the flat signature of binary data.</remarks>
public sealed class EncodedBlob : NoiseFamily
{
    private const int Base64LineWidth = 76;
    private const int HexLineWidth = 64;

    /// <inheritdoc />
    public override string Name => "encoded-blob";

    /// <inheritdoc />
    public override string Generate(NoiseInput input, Random random)
    {
        var hex = random.Next(3) == 0;
        var bytes = new byte[Math.Max(12, hex ? input.TargetLength / 2 : input.TargetLength * 3 / 4)];
        random.NextBytes(bytes);
        var encoded = hex ? Convert.ToHexStringLower(bytes) : Convert.ToBase64String(bytes);
        var width = hex ? HexLineWidth : Base64LineWidth;
        var text = new StringBuilder(encoded.Length + encoded.Length / width + 1);
        for (var start = 0; start < encoded.Length; start += width)
        {
            if (start > 0) text.Append('\n');
            text.Append(encoded, start, Math.Min(width, encoded.Length - start));
        }
        return text.ToString();
    }
}
