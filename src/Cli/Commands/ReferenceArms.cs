namespace Reweighting.Cli.Commands;

/// <summary>The runs `eval reweighting` puts beside the strategies so their gains can be read: what perfect knowledge of
/// the noise buys (<see cref="Oracle"/>, the headroom), what a user gets by filtering with the labels
/// (<see cref="Filter"/>), and what distillation alone transfers (<see cref="Distill"/>, token-masked without its token
/// selection), what meta-em's meta-update adds to its initial weights (<see cref="MetaEmFrozen"/>), and what weighting
/// adds on top of filtering (<see cref="FilterMetaEm"/>).</summary>
internal static class ReferenceArms
{
    /// <summary>Uniform training on the stream without the documents its ground truth calls noisy.</summary>
    public const string Oracle = "oracle";

    /// <summary>Uniform training on the whole stream with weight 0 on the tokens of the documents its ground truth calls
    /// noisy: the same batches as uniform, noise's share of the gradient taken away. The headroom of a method that weighs
    /// the stream, where <see cref="Oracle"/> is that of one that leaves documents out (and so trains on more clean tokens).</summary>
    public const string OracleWeights = "oracle:weights";

    /// <summary>Uniform training on the stream without the documents the shared labelling defaults label noisy.</summary>
    public const string Filter = "filter";

    /// <summary>Every token's term is q·MLE + (1 − q)·distillation from the proxy: token-masked's mix, no selection.</summary>
    public const string Distill = "distill";

    /// <summary>meta-em with phi frozen at its GMM initialisation (meta learning rate 0): what the meta-update buys.</summary>
    public const string MetaEmFrozen = "meta-em:frozen";

    /// <summary>meta-em on the documents the filter keeps: what weighting adds to filtering (the trainer service's
    /// <c>Trainer:SkipNoisy</c> with meta-em).</summary>
    public const string FilterMetaEm = "filter+meta-em";

    /// <summary>Every arm, in report order.</summary>
    public static readonly IReadOnlyList<string> Names = [Oracle, OracleWeights, Filter, Distill, MetaEmFrozen, FilterMetaEm];

    /// <summary>Whether an arm trains on the documents the labels keep (its statistics and labels come from the same
    /// scoring).</summary>
    public static bool Filters(string arm) => arm is Filter or FilterMetaEm;

    /// <summary>Whether an arm needs the training corpus's ground truth (and no proxy).</summary>
    public static bool NeedsGroundTruth(string arm) => arm is Oracle or OracleWeights;

    /// <summary>A comma-separated list of arms, or <c>none</c>.</summary>
    /// <exception cref="ArgumentException">An unknown arm.</exception>
    public static List<string> Parse(string list)
    {
        if (list.Trim() == "none") return [];
        var names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
        foreach (var n in names.Where(n => !Names.Contains(n)))
            throw new ArgumentException($"unknown arm '{n}' (known: {string.Join(", ", Names)}, or none)");
        return [.. Names.Where(names.Contains)];
    }
}
