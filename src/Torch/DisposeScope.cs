namespace Reweighting.Torch;

/// <summary>Frees every tensor created on this thread while the scope is open, except those moved out with
/// <see cref="Tensor.MoveToOuterScope"/> or <see cref="Tensor.DetachFromScope"/>. GPU memory cannot wait for
/// the garbage collector, so a forward/backward pass runs inside one. Scopes nest; they belong to one thread
/// and must not be held across <c>await</c>.</summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? current;

    private readonly List<Tensor> owned = new();
    private readonly DisposeScope? outer;
    private readonly int threadId = Environment.CurrentManagedThreadId;
    private bool disposed;

    private DisposeScope()
    {
        outer = current;
        current = this;
    }

    /// <summary>Opens a scope on this thread.</summary>
    public static DisposeScope Open() => new();

    /// <summary>The innermost open scope on this thread, if any.</summary>
    public static DisposeScope? Current => current;

    /// <summary>Tensors this scope will free.</summary>
    public int Count => owned.Count(t => t.Scope == this && !t.IsDisposed);

    internal DisposeScope? Outer => outer;

    internal void Add(Tensor t)
    {
        t.Scope = this;
        owned.Add(t);
    }

    public void Dispose()
    {
        if (disposed) return;
        if (Environment.CurrentManagedThreadId != threadId)
            throw new InvalidOperationException("a DisposeScope must be disposed on the thread that opened it");
        if (current != this)
            throw new InvalidOperationException("dispose scopes must be closed innermost first");
        disposed = true;
        current = outer;
        foreach (var t in owned)
        {
            if (t.Scope == this) t.Dispose();
        }
        owned.Clear();
    }
}
