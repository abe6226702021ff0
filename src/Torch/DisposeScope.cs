namespace Reweighting.Torch;

/// <summary>Frees every tensor created on this thread while the scope is open, except those moved out with
/// <see cref="Tensor.MoveToOuterScope"/> or <see cref="Tensor.DetachFromScope"/>. GPU memory cannot wait for
/// the garbage collector, so a forward/backward pass runs inside one. Scopes nest; they belong to one thread
/// and must not be held across <c>await</c>.</summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? CurrentOnThread;

    private readonly List<Tensor> _owned = new();
    private readonly DisposeScope? _outer;
    private readonly int _threadId = Environment.CurrentManagedThreadId;
    private bool _disposed;

    private DisposeScope()
    {
        _outer = CurrentOnThread;
        CurrentOnThread = this;
    }

    /// <summary>Opens a scope on this thread.</summary>
    public static DisposeScope Open() => new();

    /// <summary>The innermost open scope on this thread, if any.</summary>
    public static DisposeScope? Current => CurrentOnThread;

    /// <summary>Tensors this scope will free.</summary>
    public int Count => _owned.Count(t => t.Scope == this && !t.IsDisposed);

    internal DisposeScope? Outer => _outer;

    internal void Add(Tensor t)
    {
        t.Scope = this;
        _owned.Add(t);
    }

    public void Dispose()
    {
        if (_disposed) return;
        if (Environment.CurrentManagedThreadId != _threadId)
            throw new InvalidOperationException("a DisposeScope must be disposed on the thread that opened it");
        if (CurrentOnThread != this)
            throw new InvalidOperationException("dispose scopes must be closed innermost first");
        _disposed = true;
        CurrentOnThread = _outer;
        foreach (var t in _owned)
        {
            if (t.Scope == this) t.Dispose();
        }
        _owned.Clear();
    }
}
