namespace Reweighting.Torch.NN;

/// <summary>An ordered list of submodules registered as "0", "1", ... (torch.nn.ModuleList).</summary>
public sealed class ModuleList<T> : Module where T : Module
{
    private readonly List<T> items = new();

    public ModuleList(IEnumerable<T> modules)
    {
        foreach (var m in modules) items.Add(RegisterModule(items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), m));
    }

    public int Count => items.Count;

    public T this[int index] => items[index];

    public IEnumerator<T> GetEnumerator() => items.GetEnumerator();
}
