namespace Reweighting.Cli.Commands.NoiseDetection;

/// <summary>One method's worst case over several corpora: the minimum of each metric over the corpora where the method
/// ran (a metric undefined on a corpus, such as the precision of a method that flagged nothing, is left out of its
/// minimum), the highest share of noisy documents labelled hard, and the corpus that gave the lowest ROC-AUC.</summary>
internal sealed record WorstCase(string Method, int Corpora, double Auroc, double AveragePrecision, double Precision, double Recall,
    double? NoisyLabelledHard, string WorstCorpus)
{
    /// <summary>Every method's worst case, the lowest ROC-AUC first.</summary>
    public static IReadOnlyList<WorstCase> Over(IReadOnlyList<CorpusDetection> results)
    {
        var methods = results.SelectMany(r => r.Methods.Keys).Distinct().ToList();
        return methods.Select(method =>
        {
            var runs = results.Where(r => r.Methods.ContainsKey(method)).Select(r => (r.Corpus.Name, Score: r.Methods[method])).ToList();
            var worst = runs.Where(r => !double.IsNaN(r.Score.Auroc)).OrderBy(r => r.Score.Auroc).Select(r => r.Name)
                .FirstOrDefault() ?? runs[0].Name;
            var hard = runs.Select(r => r.Score.NoisyLabelledHard).OfType<double>().Where(h => !double.IsNaN(h)).ToList();
            return new WorstCase(method, runs.Count, Minimum(runs.Select(r => r.Score.Auroc)),
                Minimum(runs.Select(r => r.Score.AveragePrecision)), Minimum(runs.Select(r => r.Score.Precision)),
                Minimum(runs.Select(r => r.Score.Recall)),
                runs.Any(r => r.Score.NoisyLabelledHard is not null) ? hard.DefaultIfEmpty(double.NaN).Max() : null, worst);
        }).OrderBy(w => double.IsNaN(w.Auroc) ? double.PositiveInfinity : w.Auroc).ToList();
    }

    private static double Minimum(IEnumerable<double> values) => values.Where(v => !double.IsNaN(v)).DefaultIfEmpty(double.NaN).Min();

    /// <summary>The JSON fields: auroc, average_precision, noisy_precision, noisy_recall (minima), worst_corpus, corpora, and
    /// noisy_labelled_hard (maximum) for a labelling.</summary>
    public Dictionary<string, object> ToJson()
    {
        var json = new Dictionary<string, object>
        {
            ["auroc"] = Auroc, ["average_precision"] = AveragePrecision, ["noisy_precision"] = Precision, ["noisy_recall"] = Recall,
            ["worst_corpus"] = WorstCorpus, ["corpora"] = Corpora,
        };
        if (NoisyLabelledHard is { } hard) json["noisy_labelled_hard"] = hard;
        return json;
    }
}
