namespace Reweighting.Strategies;

/// <summary>What a training strategy needs and does: every command, service and evaluation reads these instead of
/// comparing names.</summary>
/// <param name="Name">The name users type (`--strategy`, `Trainer:Strategy`).</param>
/// <param name="Summary">One line for help texts.</param>
/// <param name="NeedsProxy">A proxy model must be given: its statistics (GMM strategies, outside the streaming trainer,
/// where the scorer's travel with the batches) or its distribution (token-masked).</param>
/// <param name="NeedsGmm">Weighs each sequence's (loss mean, variance) statistics under a GMM.</param>
/// <param name="NeedsValidation">Needs a clean validation stream of its own (for its meta-update).</param>
/// <param name="HasMetaUpdate">Learns its cluster parameters phi by a meta-gradient on validation loss.</param>
/// <param name="HasReferenceModel">Distils from a reference model (the proxy).</param>
public sealed record StrategyDescriptor(string Name, string Summary, bool NeedsProxy = false, bool NeedsGmm = false, bool NeedsValidation = false,
    bool HasMetaUpdate = false, bool HasReferenceModel = false)
{
    /// <summary>The baseline: every sample weighs the same.</summary>
    public bool IsUniform => ReferenceEquals(this, StrategyCatalogue.Uniform);

    public override string ToString() => Name;
}

/// <summary>The strategies the product implements, in the order help texts list them. Adding one means a descriptor
/// here and its objective in <c>StrategyObjectives</c> (a test checks every descriptor builds one).</summary>
public static class StrategyCatalogue
{
    public static readonly StrategyDescriptor Uniform = new("uniform", "every sample weighs the same");

    public static readonly StrategyDescriptor LinUpper = new("linupper", "Sow et al.: f(h) = min(h + 1, 1), down-weighting the easiest samples");

    public static readonly StrategyDescriptor Quadratic = new("quadratic", "Sow et al.: f(h) = 1 - h^2, favouring middling losses over both extremes");

    public static readonly StrategyDescriptor Extremes = new("extremes", "Sow et al.: f(h) = |h|, favouring the easiest and the hardest samples");

    public static readonly StrategyDescriptor MetaEm = new("meta-em", "GMM over document loss statistics, cluster parameters meta-learned on validation loss",
        NeedsProxy: true, NeedsGmm: true, NeedsValidation: true, HasMetaUpdate: true);

    public static readonly StrategyDescriptor ClusterHeuristic = new("cluster-heuristic", "GMM labels weigh samples by their distance from the batch's global point: hard up, noisy down, easy 1",
        NeedsProxy: true, NeedsGmm: true);

    public static readonly StrategyDescriptor TokenMasked = new("token-masked", "MLE on each sequence's top tokens, self-distillation from the proxy on the rest",
        NeedsProxy: true, HasReferenceModel: true);

    /// <summary>Every strategy, uniform first.</summary>
    public static readonly IReadOnlyList<StrategyDescriptor> All = [Uniform, LinUpper, Quadratic, Extremes, MetaEm, ClusterHeuristic, TokenMasked];

    /// <summary>The names of <see cref="All"/>.</summary>
    public static readonly IReadOnlyList<string> Names = [.. All.Select(s => s.Name)];

    /// <summary>Every strategy but uniform (a weighted run's choices).</summary>
    public static readonly IReadOnlyList<string> WeightedNames = [.. All.Where(s => !s.IsUniform).Select(s => s.Name)];

    /// <summary>The strategy called <paramref name="name"/>, or null.</summary>
    public static StrategyDescriptor? Find(string? name) => All.FirstOrDefault(s => s.Name == name);

    /// <summary>The strategy called <paramref name="name"/>; throws <see cref="ArgumentException"/> listing the known ones.</summary>
    public static StrategyDescriptor Get(string name) =>
        Find(name) ?? throw new ArgumentException($"unknown strategy '{name}' (known: {string.Join(", ", Names)})");
}
