using Reweighting.Strategies;
using Reweighting.Torch;
using Reweighting.Torch.Distributed;
using static Reweighting.Torch.Torch;

namespace Reweighting.Objectives;

/// <summary>The batch a strategy weighs under data parallelism: Sow et al. weigh the whole batch of an optimiser step,
/// which then spans every rank, so each rank's per-sample scores are all-gathered (in rank order) before the weights are
/// computed, and the softmax, the 2/M bound and the token shares use the global M. Every rank gathers the same number of
/// samples and weighs the same global batch, so every rank computes the same weights and keeps its own slice.</summary>
public static class GlobalBatch
{
    /// <summary>Every rank's scores, concatenated in rank order. All ranks must pass the same count, and all or none of
    /// them variances.</summary>
    public static BatchScores Gather(ProcessGroup group, BatchScores local)
    {
        var n = local.Losses.Length;
        if (local.TokenCounts.Length != n || local.Variances is { } v && v.Length != n)
            throw new ArgumentException("a batch's losses, token counts and variances differ in length");
        return new BatchScores(Gather(group, local.Losses), Gather(group, local.TokenCounts),
            local.Variances is null ? null : Gather(group, local.Variances));
    }

    /// <summary>Every rank's values (the same count on every rank), concatenated in rank order.</summary>
    public static T[] Gather<T>(ProcessGroup group, T[] local) where T : unmanaged
    {
        using var scope = DisposeScope.Open();
        return group.AllGather(FromArray(local, local.Length)).ToArray<T>();
    }

    /// <summary>This rank's entries of an array over the gathered batch (every rank holding the same count).</summary>
    public static T[] Local<T>(ProcessGroup group, T[] global)
    {
        if (global.Length % group.WorldSize != 0)
            throw new ArgumentException($"{global.Length} entries do not split evenly over {group.WorldSize} ranks");
        var n = global.Length / group.WorldSize;
        return global[(group.Rank * n)..((group.Rank + 1) * n)];
    }
}
