using System.Diagnostics;
using System.Globalization;
using Reweighting.Torch;

namespace Reweighting.Cli.Bench;

/// <summary>What a benchmark ran on: the GPU's name, driver and memory (read from nvidia-smi, which ships with the
/// driver), the libtorch the shim was built against, and the card's dense bfloat16 peak for model FLOPs utilisation.</summary>
internal sealed record Accelerator(string Device, string? Name, string? Driver, long? MemoryMib, string LibTorch, bool CudaCompiled,
    double? PeakBf16Tflops, string? PeakSource)
{
    /// <summary>Dense (no sparsity) bfloat16 tensor-core peaks from the vendor's datasheets, TFLOP/s, matched on the name
    /// nvidia-smi reports; the first match wins, so the more specific names come first.</summary>
    internal static readonly (string Match, double Tflops)[] DatasheetPeaks =
    [
        ("H200 NVL", 835.5), ("H200", 989.4), ("GH200", 989.4), ("H100 PCIe", 756.5), ("H100 NVL", 835.5), ("H100", 989.4),
        ("H800 PCIe", 756.5), ("H800", 989.4), ("B200", 2250), ("B100", 1750), ("A100", 312), ("A800", 312), ("L40S", 362.05),
        ("L40", 181.05), ("L4", 121), ("A10G", 70), ("A10", 125), ("RTX 4090", 165.2), ("RTX 6000 Ada", 364.2), ("A6000", 154.8),
    ];

    /// <summary>The dense bfloat16 peak of a GPU by its name, or null when the table does not know it.</summary>
    public static double? PeakFor(string? name) =>
        name is null ? null : DatasheetPeaks.Where(p => name.Contains(p.Match, StringComparison.OrdinalIgnoreCase)).Select(p => (double?)p.Tflops).FirstOrDefault();

    /// <summary>Describes <paramref name="device"/>; <paramref name="peakOverride"/> (TFLOP/s) replaces the table's peak.</summary>
    public static Accelerator Describe(Device device, double? peakOverride)
    {
        string? name = null, driver = null;
        long? memory = null;
        if (device.Type == DeviceType.Cuda && Query(device.Index) is { } row)
            (name, driver, memory) = row;
        var peak = peakOverride ?? (device.Type == DeviceType.Cuda ? PeakFor(name) : null);
        var source = peakOverride is not null ? "--peak-tflops" : peak is not null ? $"datasheet dense bfloat16 peak of {name}" : null;
        return new Accelerator(device.ToString(), name ?? (device.Type == DeviceType.Cpu ? "cpu" : null), driver, memory,
            Torch.Torch.LibTorchVersion, Torch.Torch.Cuda.IsCompiled, peak, source);
    }

    /// <summary>Parses one line of <c>nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader,nounits</c>.</summary>
    internal static (string Name, string Driver, long? MemoryMib)? ParseQuery(string line)
    {
        var parts = line.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length < 3 || parts[0].Length == 0) return null;
        return (parts[0], parts[1], long.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var mib) ? mib : null);
    }

    private static (string, string, long?)? Query(int index)
    {
        try
        {
            var info = new ProcessStartInfo("nvidia-smi") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader,nounits", "-i", index.ToString(CultureInfo.InvariantCulture) })
                info.ArgumentList.Add(a);
            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(10_000) || process.ExitCode != 0) return null;
            return ParseQuery(output.Split('\n')[0]);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no nvidia-smi on PATH
        }
    }
}
