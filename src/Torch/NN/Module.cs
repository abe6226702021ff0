namespace Reweighting.Torch.NN;

/// <summary>A neural-network building block with named parameters, buffers and submodules, a train/eval
/// mode and a state dict (torch.nn.Module). Subclasses register what they own in their constructor.</summary>
public abstract class Module : IDisposable
{
    private readonly List<(string Name, Tensor Tensor)> _parameters = new();
    private readonly List<(string Name, Tensor Tensor)> _buffers = new();
    private readonly List<(string Name, Module Module)> _modules = new();
    private bool _disposed;

    /// <summary>True in training mode (dropout active), false in evaluation mode.</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>Registers a trainable tensor under <paramref name="name"/>; it is taken out of any dispose
    /// scope and made to require gradients. Returns it.</summary>
    protected Tensor RegisterParameter(string name, Tensor parameter)
    {
        EnsureNewName(name);
        parameter.DetachFromScope();
        parameter.RequiresGrad = true;
        _parameters.Add((name, parameter));
        return parameter;
    }

    /// <summary>Registers a non-trainable tensor that belongs to the state dict (e.g. a mask).</summary>
    protected Tensor RegisterBuffer(string name, Tensor buffer)
    {
        EnsureNewName(name);
        buffer.DetachFromScope();
        _buffers.Add((name, buffer));
        return buffer;
    }

    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        EnsureNewName(name);
        _modules.Add((name, module));
        return module;
    }

    private void EnsureNewName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"'{name}' is not a valid member name (non-empty, no dots)");
        if (_parameters.Any(p => p.Name == name) || _buffers.Any(b => b.Name == name) || _modules.Any(m => m.Name == name))
            throw new ArgumentException($"'{name}' is already registered in {GetType().Name}");
    }

    /// <summary>Parameters of this module and its submodules with dotted names ("h.0.attn.weight"), in registration order.</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(string prefix = "")
    {
        foreach (var (name, p) in _parameters) yield return (prefix + name, p);
        foreach (var (name, m) in _modules)
        foreach (var item in m.NamedParameters(prefix + name + ".")) yield return item;
    }

    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Parameter);

    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(string prefix = "")
    {
        foreach (var (name, b) in _buffers) yield return (prefix + name, b);
        foreach (var (name, m) in _modules)
        foreach (var item in m.NamedBuffers(prefix + name + ".")) yield return item;
    }

    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        foreach (var (name, m) in _modules)
        {
            yield return (prefix + name, m);
            foreach (var item in m.NamedModules(prefix + name + ".")) yield return item;
        }
    }

    /// <summary>Parameters and buffers by dotted name. The tensors are the module's own (not copies).</summary>
    public IReadOnlyDictionary<string, Tensor> StateDict() =>
        NamedParameters().Concat(NamedBuffers()).ToDictionary(x => x.Item1, x => x.Item2);

    /// <summary>Copies values from <paramref name="state"/> into the module's tensors (shapes must match;
    /// dtypes and devices are converted). With <paramref name="strict"/>, missing or unexpected names fail.</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        var own = StateDict();
        if (strict)
        {
            var missing = own.Keys.Except(state.Keys).ToList();
            var unexpected = state.Keys.Except(own.Keys).ToList();
            if (missing.Count > 0 || unexpected.Count > 0)
                throw new ArgumentException($"state dict mismatch for {GetType().Name}: missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", unexpected)}]");
        }
        using var noGrad = Torch.NoGrad();
        foreach (var (name, target) in own)
        {
            if (!state.TryGetValue(name, out var source)) continue;
            if (!source.Shape.SequenceEqual(target.Shape))
                throw new ArgumentException($"'{name}': state dict has shape {source.ShapeString()}, module has {target.ShapeString()}");
            target.CopyInPlace(source);
        }
    }

    /// <summary>Sets training mode on this module and all submodules. Returns this.</summary>
    public Module Train(bool training = true)
    {
        IsTraining = training;
        foreach (var (_, m) in _modules) m.Train(training);
        return this;
    }

    /// <summary>Sets evaluation mode (Train(false)). Returns this.</summary>
    public Module Eval() => Train(false);

    /// <summary>Moves (and optionally casts) every parameter and buffer in place; identities are kept, so
    /// optimisers built earlier still see the same tensors. Floating-point tensors alone are cast.</summary>
    public Module To(Device device, ScalarType? dtype = null)
    {
        using var noGrad = Torch.NoGrad();
        foreach (var t in Parameters().Concat(NamedBuffers().Select(b => b.Buffer)))
        {
            var cast = dtype.HasValue && t.DType.IsFloatingPoint() ? dtype.Value : t.DType;
            using var moved = t.To(device, cast);
            t.SetData(moved);
        }
        return this;
    }

    /// <summary>Number of trainable elements.</summary>
    public long ParameterCount() => Parameters().Sum(p => p.NumberOfElements);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var (_, m) in _modules) m.Dispose();
        foreach (var (_, p) in _parameters) p.Dispose();
        foreach (var (_, b) in _buffers) b.Dispose();
        DisposeOwned();
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees native objects a subclass owns besides its tensors (e.g. a generator).</summary>
    protected virtual void DisposeOwned()
    {
    }
}

/// <summary>A module with a typed forward pass.</summary>
public abstract class Module<TIn, TOut> : Module
{
    public abstract TOut Forward(TIn input);
}
