using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Reweighting.Torch.Native;

/// <summary>Finds librwtorch.so for the binding: $RWTORCH_LIBRARY if set, else next to this assembly, else
/// next to the application. Fails with instructions when it is missing.</summary>
internal static class NativeLibraryLoader
{
    internal const string EnvironmentVariable = "RWTORCH_LIBRARY";
    private const string FileName = "librwtorch.so";

    // The resolver must be in place before the first P/Invoke of this assembly, whichever type makes it.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() =>
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != NativeMethods.Library) return IntPtr.Zero;
        var candidates = Candidates().ToList();
        foreach (var path in candidates)
        {
            if (File.Exists(path)) return NativeLibrary.Load(path);
        }
        throw new DllNotFoundException(
            $"The native tensor library {FileName} was not found (looked in: {string.Join(", ", candidates)}). " +
            "Build it with `make native` (CPU, Debian's libtorch-dev) or `make native TORCH_DIR=<libtorch>` " +
            $"(e.g. a CUDA PyTorch's torch/ directory), or point {EnvironmentVariable} at a built {FileName}.");
    }

    private static IEnumerable<string> Candidates()
    {
        var fromEnv = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(fromEnv)) yield return fromEnv;
        var assemblyDir = Path.GetDirectoryName(typeof(NativeLibraryLoader).Assembly.Location);
        if (!string.IsNullOrEmpty(assemblyDir)) yield return Path.Combine(assemblyDir, FileName);
        yield return Path.Combine(AppContext.BaseDirectory, FileName);
    }
}
