using System.Text.Json;
using System.Text.Json.Serialization;

namespace Reweighting.Cli.Commands.NoiseDetection;

/// <summary>Prints the results of a noise-detection run: per corpus the methods table (or, with <c>summary</c>, one line
/// per corpus and method), then over several corpora each method's worst case; or the same as JSON.</summary>
internal static class DetectionReport
{
    private static readonly JsonSerializerOptions Json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>One corpus: today's object. Several: <c>{"corpora": {name: object}, "worst_case": {method: {...}}}</c>.</summary>
    public static void PrintJson(IReadOnlyList<CorpusDetection> results)
    {
        object report = results.Count == 1
            ? results[0].ToJson()
            : new
            {
                corpora = results.ToDictionary(r => r.Corpus.Name, r => r.ToJson()),
                worst_case = WorstCase.Over(results).ToDictionary(w => w.Method, w => w.ToJson()),
            };
        Console.WriteLine(JsonSerializer.Serialize(report, Json));
    }

    public static void PrintTables(IReadOnlyList<CorpusDetection> results, bool summary)
    {
        if (summary) PrintSummary(results);
        else
        {
            foreach (var r in results)
            {
                if (results.Count > 1) Console.WriteLine($"== {r.Corpus.Name} ({r.Corpus.Path})");
                PrintCorpus(r);
                Console.WriteLine();
            }
        }
        if (results.Count > 1) PrintWorstCase(results);
    }

    private static string Hard(double? share) => share is { } h ? $"{h,10:F4}" : $"{"-",10}";

    private static void PrintCorpus(CorpusDetection r)
    {
        Console.WriteLine($"{r.Documents} documents, {r.Noisy} noisy; the GMM ({r.Labelling.ChosenRule}, {r.Labelling.ChosenFeatures}, " +
                          $"K = {r.Labelling.Fits[r.Labelling.ChosenFeatures].Fit.Parameters.Components}) " +
                          $"labels {r.Flagged} noisy (baselines flag as many); noisy→hard: noisy documents a labelling calls hard");
        Console.WriteLine($"{"method",-26} {"ROC-AUC",8} {"AP",8} {"precision",10} {"recall",8} {"flagged",8} {"noisy→hard",10}");
        foreach (var (name, m) in r.Methods)
        {
            Console.WriteLine($"{name,-26} {m.Auroc,8:F4} {m.AveragePrecision,8:F4} {m.Precision,10:F4} {m.Recall,8:F4} {m.Flagged,8} " +
                              Hard(m.NoisyLabelledHard));
        }
        Console.WriteLine("ROC-AUC per noise type (clean documents plus that type):");
        foreach (var t in r.AurocByNoiseType[CorpusDetection.GmmMethod].Keys)
            Console.WriteLine($"  {t,-16} " + string.Join("  ", r.AurocByNoiseType.Select(m => $"{m.Key} {m.Value[t]:F3}")));
        Console.WriteLine();
        Console.WriteLine("GMM label rule x features (score: noisy responsibility; flag: the hard label; * = the gmm row above):");
        Console.WriteLine($"  {"label rule",-20} {"features",-18} {"ROC-AUC",8} {"AP",8} {"precision",10} {"recall",8} {"flagged",8} " +
                          $"{"noisy→hard",10}");
        foreach (var (rule, byFeatures) in r.RuleScores)
        foreach (var (features, m) in byFeatures)
        {
            var mark = rule == r.Labelling.ChosenRule && features == r.Labelling.ChosenFeatures ? "*" : " ";
            Console.WriteLine($"{mark} {rule,-20} {features,-18} {m.Auroc,8:F4} {m.AveragePrecision,8:F4} {m.Precision,10:F4} " +
                              $"{m.Recall,8:F4} {m.Flagged,8} {Hard(m.NoisyLabelledHard)}");
        }
    }

    /// <summary>One line per corpus and method, for runs over many corpora.</summary>
    private static void PrintSummary(IReadOnlyList<CorpusDetection> results)
    {
        var width = Math.Max("corpus".Length, results.Max(r => r.Corpus.Name.Length));
        Console.WriteLine($"{"corpus".PadRight(width)} {"method",-26} {"ROC-AUC",8} {"AP",8} {"precision",10} {"recall",8} {"flagged",8} " +
                          $"{"noisy→hard",10}");
        foreach (var r in results)
        foreach (var (name, m) in r.Methods)
        {
            Console.WriteLine($"{r.Corpus.Name.PadRight(width)} {name,-26} {m.Auroc,8:F4} {m.AveragePrecision,8:F4} {m.Precision,10:F4} " +
                              $"{m.Recall,8:F4} {m.Flagged,8} {Hard(m.NoisyLabelledHard)}");
        }
        Console.WriteLine();
    }

    private static void PrintWorstCase(IReadOnlyList<CorpusDetection> results)
    {
        Console.WriteLine($"worst case over {results.Count} corpora (minima; noisy→hard: maximum; worst first, by ROC-AUC):");
        Console.WriteLine($"{"method",-26} {"corpora",8} {"ROC-AUC",8} {"AP",8} {"precision",10} {"recall",8} {"noisy→hard",10}  " +
                          "worst ROC-AUC in");
        foreach (var w in WorstCase.Over(results))
        {
            Console.WriteLine($"{w.Method,-26} {w.Corpora,8} {w.Auroc,8:F4} {w.AveragePrecision,8:F4} {w.Precision,10:F4} " +
                              $"{w.Recall,8:F4} {Hard(w.NoisyLabelledHard)}  {w.WorstCorpus}");
        }
    }
}
