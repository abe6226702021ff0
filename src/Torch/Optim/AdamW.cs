using Reweighting.Torch.Native;

namespace Reweighting.Torch.Optim;

/// <summary>Settings of one parameter group; <see cref="LearningRate"/> may be changed between steps (schedules).</summary>
public sealed class ParamGroup(IReadOnlyList<Tensor> parameters, double learningRate = 1e-3, double weightDecay = 0.01,
    double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
{
    public IReadOnlyList<Tensor> Parameters { get; } = parameters;
    public double LearningRate { get; set; } = learningRate;
    public double WeightDecay { get; set; } = weightDecay;
    public double Beta1 { get; } = beta1;
    public double Beta2 { get; } = beta2;
    public double Eps { get; } = eps;
}

/// <summary>How an AdamW step runs; every implementation computes the same update.</summary>
public enum AdamWImplementation
{
    /// <summary>One parameter at a time: the reference the others are tested against.</summary>
    Loop = 0,

    /// <summary>libtorch's multi-tensor (_foreach_*) ops over a whole group.</summary>
    Foreach = 1,

    /// <summary>libtorch's fused kernel (aten::_fused_adamw_: CUDA since PyTorch 2.0, CPU since about 2.4).</summary>
    Fused = 2,
}

/// <summary>Adam with decoupled weight decay (torch.optim.AdamW), with per-group settings. Its state (step and
/// the two moment tensors of every parameter) can be saved and restored for checkpoints.</summary>
public sealed class AdamW : IDisposable
{
    private readonly List<GroupState> _groups;

    /// <summary>True when the loaded libtorch has the fused AdamW kernel for <paramref name="device"/>.</summary>
    public static bool HasFusedKernel(DeviceType device) => NativeMethods.rwt_has_fused_adamw((int)device) == 1;

    private sealed class GroupState(ParamGroup group)
    {
        public ParamGroup Group { get; } = group;
        public Tensor[]? ExpAvg { get; set; }
        public Tensor[]? ExpAvgSq { get; set; }
    }

    public AdamW(IEnumerable<ParamGroup> groups)
    {
        this._groups = groups.Select(g => new GroupState(g)).ToList();
        foreach (var g in this._groups)
        {
            if (g.Group.LearningRate < 0) throw new ArgumentOutOfRangeException(nameof(groups), "learning rate must be >= 0");
            if (g.Group.Beta1 is < 0 or >= 1 || g.Group.Beta2 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(groups), "betas must be in [0, 1)");
        }
    }

    public AdamW(IReadOnlyList<Tensor> parameters, double learningRate = 1e-3, double weightDecay = 0.01,
        double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
        : this([new ParamGroup(parameters, learningRate, weightDecay, beta1, beta2, eps)])
    {
    }

    public IReadOnlyList<ParamGroup> Groups => _groups.Select(g => g.Group).ToList();

    /// <summary>Updates taken so far.</summary>
    public long StepCount { get; private set; }

    /// <summary>The fastest implementation a step may use (default <see cref="AdamWImplementation.Fused"/>, which
    /// falls back to foreach where the libtorch or the tensors do not allow the fused kernel).</summary>
    public AdamWImplementation MaxImplementation { get; set; } = AdamWImplementation.Fused;

    /// <summary>The implementation the last step used (the slowest one when groups differed); null before the first
    /// step and after a step in which no parameter had a gradient.</summary>
    public AdamWImplementation? Implementation { get; private set; }

    /// <summary>One update of every parameter that has a gradient.</summary>
    public unsafe void Step()
    {
        StepCount++;
        AdamWImplementation? slowest = null;
        foreach (var g in _groups)
        {
            EnsureState(g);
            var p = Tensor.Pointers(g.Group.Parameters);
            var m = Tensor.Pointers(g.ExpAvg!);
            var v = Tensor.Pointers(g.ExpAvgSq!);
            int status, used;
            fixed (IntPtr* pp = p)
            fixed (IntPtr* mp = m)
            fixed (IntPtr* vp = v)
                status = NativeMethods.rwt_adamw_step_using(pp, mp, vp, p.Length, StepCount, g.Group.LearningRate, g.Group.Beta1,
                    g.Group.Beta2, g.Group.Eps, g.Group.WeightDecay, (int)MaxImplementation, out used);
            GC.KeepAlive(g);
            Errors.Check(status, "adamw step");
            if (used >= 0 && (slowest is null || used < (int)slowest)) slowest = (AdamWImplementation)used;
        }
        Implementation = slowest;
    }

    /// <summary>Clears the gradients of all parameters (dropped when <paramref name="setToNone"/>, else zeroed).</summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var g in _groups) Autograd.ZeroGrad(g.Group.Parameters, setToNone);
    }

    private static void EnsureState(GroupState g)
    {
        if (g.ExpAvg is not null) return;
        using var noGrad = Torch.NoGrad();
        g.ExpAvg = g.Group.Parameters.Select(p => Torch.ZerosLike(p).DetachFromScope()).ToArray();
        g.ExpAvgSq = g.Group.Parameters.Select(p => Torch.ZerosLike(p).DetachFromScope()).ToArray();
    }

    /// <summary>The optimiser state as named tensors ("g{group}.p{index}.exp_avg" / ".exp_avg_sq") plus the step
    /// count. The tensors are the optimiser's own.</summary>
    public (long Step, IReadOnlyDictionary<string, Tensor> Tensors) StateDict()
    {
        var tensors = new Dictionary<string, Tensor>();
        for (var gi = 0; gi < _groups.Count; gi++)
        {
            EnsureState(_groups[gi]);
            for (var pi = 0; pi < _groups[gi].Group.Parameters.Count; pi++)
            {
                tensors[$"g{gi}.p{pi}.exp_avg"] = _groups[gi].ExpAvg![pi];
                tensors[$"g{gi}.p{pi}.exp_avg_sq"] = _groups[gi].ExpAvgSq![pi];
            }
        }
        return (StepCount, tensors);
    }

    /// <summary>Restores a state obtained from <see cref="StateDict"/> (values are copied in).</summary>
    public void LoadStateDict(long step, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var (_, own) = StateDict();
        var missing = own.Keys.Except(tensors.Keys).ToList();
        if (missing.Count > 0) throw new ArgumentException($"optimizer state is missing [{string.Join(", ", missing)}]");
        using var noGrad = Torch.NoGrad();
        foreach (var (name, target) in own)
        {
            var source = tensors[name];
            if (!source.Shape.SequenceEqual(target.Shape))
                throw new ArgumentException($"optimizer state '{name}' has shape {source.ShapeString()}, expected {target.ShapeString()}");
            target.CopyInPlace(source);
        }
        StepCount = step;
    }

    public void Dispose()
    {
        foreach (var g in _groups)
        {
            foreach (var t in g.ExpAvg ?? []) t.Dispose();
            foreach (var t in g.ExpAvgSq ?? []) t.Dispose();
        }
    }
}
