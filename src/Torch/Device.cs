using Reweighting.Torch.Native;

namespace Reweighting.Torch;

/// <summary>Where a tensor lives.</summary>
public enum DeviceType
{
    Cpu = 0,
    Cuda = 1,
}

/// <summary>A device: <c>cpu</c> or <c>cuda[:n]</c>.</summary>
public readonly record struct Device(DeviceType Type, int Index = 0)
{
    public static readonly Device Cpu = new(DeviceType.Cpu);

    /// <summary>The n-th CUDA device.</summary>
    public static Device Cuda(int index = 0) => new(DeviceType.Cuda, index);

    /// <summary>Parses "cpu", "cuda" or "cuda:N".</summary>
    public static Device Parse(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        if (t == "cpu") return Cpu;
        if (t == "cuda") return Cuda();
        if (t.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(t.AsSpan(5), out var n) && n >= 0) return Cuda(n);
        throw new FormatException($"'{text}' is not a device: use cpu, cuda or cuda:N");
    }

    public override string ToString() => Type == DeviceType.Cpu ? "cpu" : $"cuda:{Index}";

    /// <summary>Throws a clear error when this is a CUDA device and the loaded shim or machine has no CUDA.</summary>
    internal void EnsureUsable()
    {
        if (Type == DeviceType.Cpu) return;
        if (!Torch.Cuda.IsCompiled)
            throw new TorchException(
                $"{this} requested, but the loaded native library was built against a CPU-only libtorch. " +
                "Rebuild it with `make native TORCH_DIR=<CUDA libtorch or PyTorch's torch/ directory>`.");
        if (!Torch.Cuda.IsAvailable)
            throw new TorchException($"{this} requested, but no CUDA device is available on this machine.");
        if (Index >= Torch.Cuda.DeviceCount)
            throw new TorchException($"{this} requested, but only {Torch.Cuda.DeviceCount} CUDA device(s) exist.");
    }
}
