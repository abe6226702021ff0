namespace Reweighting.Cli.Commands.NoiseDetection;

/// <summary>One labelled corpus of a noise-detection run and where its scores come from: a proxy checkpoint
/// (<see cref="Model"/>) or a `reweight lm score` file (<see cref="Scores"/>), and optionally a clean reference for
/// reference-anchored labelling, as a corpus the same model scores or as its scores.</summary>
internal sealed record DetectionCorpus(string Name, string Path, string? Model, string? Scores, string? Reference, string? ReferenceScores)
{
    /// <summary>Pairs the repeated options by position: one --model for every corpus or one per corpus, one --scores per
    /// corpus, and one --reference (or --reference-scores) for every corpus or one per corpus.</summary>
    /// <exception cref="ArgumentException">The counts do not pair, both or neither of --model and --scores, or two corpora share a
    /// name.</exception>
    public static IReadOnlyList<DetectionCorpus> Pair(IReadOnlyList<string> corpora, IReadOnlyList<string> models,
        IReadOnlyList<string> scores, IReadOnlyList<string> references, IReadOnlyList<string> referenceScores)
    {
        var n = corpora.Count;
        if (n == 0) throw new ArgumentException("give at least one --corpus");
        if ((models.Count == 0) == (scores.Count == 0))
            throw new ArgumentException("give either --model (score the corpus) or --scores (a `reweight lm score` output)");
        if (models.Count > 0 && models.Count != 1 && models.Count != n)
            throw new ArgumentException($"give one --model for every corpus or one per --corpus, not {models.Count} for {n} corpora");
        if (scores.Count > 0 && scores.Count != n)
            throw new ArgumentException($"give one --scores per --corpus, not {scores.Count} for {n} corpora");
        if (references.Count > 0 && referenceScores.Count > 0)
            throw new ArgumentException("give --reference (scored by --model) or --reference-scores (already scored), not both");
        if (references.Count > 0 && models.Count == 0)
        {
            throw new ArgumentException(
                "--reference is scored by --model; with --scores give the reference's `lm score` output as --reference-scores");
        }
        if (references.Count is not 0 and not 1 && references.Count != n)
        {
            throw new ArgumentException(
                $"give one --reference for every corpus or one per --corpus, not {references.Count} for {n} corpora");
        }
        if (referenceScores.Count is not 0 and not 1 && referenceScores.Count != n)
        {
            throw new ArgumentException(
                $"give one --reference-scores for every corpus or one per --corpus, not {referenceScores.Count} for {n} corpora");
        }

        static string? At(IReadOnlyList<string> values, int i) => values.Count switch { 0 => null, 1 => values[0], _ => values[i] };
        var result = corpora.Select((argument, i) =>
        {
            var (name, path) = ParseNamed(argument);
            return new DetectionCorpus(name, path, At(models, i), scores.Count == 0 ? null : scores[i], At(references, i),
                At(referenceScores, i));
        }).ToList();
        var repeated = result.GroupBy(c => c.Name).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
            throw new ArgumentException($"{repeated.Count()} corpora are named '{repeated.Key}'; name each as --corpus NAME=path");
        return result;
    }

    /// <summary>A --corpus argument: <c>NAME=path</c>, or a path named by its file name without extensions
    /// (<c>data/noisy-web.jsonl.gz</c> → <c>noisy-web</c>). An existing file whose name holds '=' is taken as a path.</summary>
    /// <exception cref="ArgumentException">An empty name or path.</exception>
    public static (string Name, string Path) ParseNamed(string argument)
    {
        var split = argument.IndexOf('=');
        if (split >= 0 && !File.Exists(argument) && !Directory.Exists(argument))
        {
            var (name, path) = (argument[..split], argument[(split + 1)..]);
            if (name.Length == 0 || path.Length == 0) throw new ArgumentException($"--corpus {argument}: give NAME=path with both parts");
            return (name, path);
        }
        if (argument.Length == 0) throw new ArgumentException("--corpus needs a path");
        var file = System.IO.Path.GetFileName(argument.TrimEnd('/', System.IO.Path.DirectorySeparatorChar));
        if (file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) file = file[..^3];
        var stem = System.IO.Path.GetFileNameWithoutExtension(file);
        return (stem.Length == 0 ? file : stem, argument);
    }
}
