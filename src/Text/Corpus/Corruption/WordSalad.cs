using System.Text;

namespace Reweighting.Text.Corpus.Corruption;

/// <summary>Real words of the corpus drawn uniformly from its vocabulary, with sentence-like full stops.</summary>
/// <remarks>
/// Uniform draws over distinct words over-represent rare words and break every syntactic dependency, so each token
/// is a plausible word but a poor prediction: high mean loss from text that looks superficially normal.
/// </remarks>
public sealed class WordSalad : NoiseFamily
{
    /// <inheritdoc />
    public override string Name => "word-salad";

    /// <inheritdoc />
    public override string Generate(NoiseInput input, Random random)
    {
        if (input.Vocabulary.Count == 0) throw new ArgumentException("word salad needs a vocabulary; the corpus has no words");
        var text = new StringBuilder(input.TargetLength + 32);
        var untilStop = random.Next(6, 20);
        while (text.Length < input.TargetLength)
        {
            if (text.Length > 0) text.Append(' ');
            text.Append(Pick(input.Vocabulary, random));
            if (--untilStop == 0)
            {
                text.Append('.');
                untilStop = random.Next(6, 20);
            }
        }
        return text.ToString();
    }
}
