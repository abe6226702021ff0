using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Scoring;
using Reweighting.Torch;

namespace Reweighting.Modeling.Evaluation;

/// <summary>Loss (nats per token), perplexity and token count of one domain.</summary>
public sealed record DomainLoss(double Loss, long Tokens)
{
    public double Perplexity => Math.Exp(Loss);
}

/// <summary>Held-out loss per domain and over all tokens ("all"), every prediction counted once.</summary>
public static class HeldOutLoss
{
    public const string AllDomains = "all";

    public static IReadOnlyDictionary<string, DomainLoss> Compute(GptModel model, IReadOnlyDictionary<string, IReadOnlyList<IReadOnlyList<long>>> documentsByDomain,
        Device device, int batchSize = 16)
    {
        var result = new SortedDictionary<string, DomainLoss>(StringComparer.Ordinal);
        double totalLoss = 0;
        long totalTokens = 0;
        var scorer = new DocumentScorer(model, device, batchSize);
        foreach (var (domain, documents) in documentsByDomain)
        {
            double sum = 0;
            long count = 0;
            foreach (var doc in scorer.Score(documents))
            {
                foreach (var l in doc.Losses) sum += l;
                count += doc.Losses.Length;
            }
            if (count == 0) continue;
            result[domain] = new DomainLoss(sum / count, count);
            totalLoss += sum;
            totalTokens += count;
        }
        if (totalTokens > 0) result[AllDomains] = new DomainLoss(totalLoss / totalTokens, totalTokens);
        return result;
    }
}
