namespace Reweighting.Cli.Bench;

/// <summary>Fields of the kernel's "key : value" files (<c>/proc/cpuinfo</c>, <c>/proc/meminfo</c>) for benchmark reports.</summary>
internal static class ProcInfo
{
    /// <summary>The value of the first line of <paramref name="path"/> starting with <paramref name="key"/>, or
    /// "unknown" when the file or the line is missing.</summary>
    public static string Field(string path, string key) => File.Exists(path)
        ? File.ReadLines(path).FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown"
        : "unknown";

    /// <summary>The CPU's model name.</summary>
    public static string CpuModel() => Field("/proc/cpuinfo", "model name");
}
