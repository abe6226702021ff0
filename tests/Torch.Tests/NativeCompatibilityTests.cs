using System.Diagnostics;
using FluentAssertions;
using Xunit;

namespace Reweighting.Torch.Tests;

/// <summary>The shim must build on a GPU machine's PyTorch 2.x, which this machine does not have: its sources are
/// compiled (syntax only) against the headers of Debian's libtorch-dev 2.x, fetched and unpacked, not installed.</summary>
public sealed class NativeCompatibilityTests
{
    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "scripts", "check-native-headers.sh"))) return d.FullName;
        throw new DirectoryNotFoundException("no scripts/check-native-headers.sh above the test directory");
    }

    [Fact]
    public async Task The_shim_compiles_against_libtorch_2()
    {
        var info = new ProcessStartInfo(Path.Combine(RepositoryRoot(), "scripts", "check-native-headers.sh"))
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(limit.Token);
        var output = await stdout + await stderr;
        process.ExitCode.Should().Be(0, output);
        output.Should().MatchRegex(@"OK: the shim compiles against libtorch 2\.\d+");
    }

    /// <summary>The build a GPU machine falls back to when CMake fails: g++ straight against a torch/ directory. A
    /// directory without TorchConfig leaves the libstdc++ ABI to be read from libc10's symbols; the wrong answer makes a
    /// library that cannot load. Here a torch/-shaped directory over the machine's libtorch.</summary>
    [Fact]
    public async Task The_direct_build_against_a_torch_directory_loads_and_runs()
    {
        var root = RepositoryRoot();
        var torchDir = Path.Combine(Path.GetTempPath(), $"rw-torch-dir-{Guid.NewGuid():N}");
        Directory.CreateDirectory(torchDir);
        try
        {
            Directory.CreateSymbolicLink(Path.Combine(torchDir, "include"), "/usr/include");
            // Only the libraries, as in a wheel's torch/lib: no cmake/Torch beside them to read the ABI from.
            var lib = Directory.CreateDirectory(Path.Combine(torchDir, "lib")).FullName;
            foreach (var so in Directory.GetFiles("/usr/lib/x86_64-linux-gnu", "lib*.so")
                         .Where(f => Path.GetFileName(f) is var n && (n.StartsWith("libtorch", StringComparison.Ordinal) || n.StartsWith("libc10", StringComparison.Ordinal))))
                File.CreateSymbolicLink(Path.Combine(lib, Path.GetFileName(so)), so);
            var output = Path.Combine("build", $"native-direct-test-{Guid.NewGuid():N}");
            // With SIGPIPE back to its default, as in a shell (.NET ignores it, and children inherit that): the script's
            // pipelines must not depend on it.
            var (built, buildLog) = await RunAsync("env", new Dictionary<string, string> { ["RWT_BUILD"] = "direct", ["PYTHON"] = "/bin/false" },
                "--default-signal=PIPE", Path.Combine(root, "scripts", "build-native.sh"), output, torchDir);
            built.Should().Be(0, buildLog);
            buildLog.Should().Contain("_GLIBCXX_USE_CXX11_ABI=1", "Debian's libtorch uses the C++11 ABI");
            var library = Path.Combine(root, output, "librwtorch.so");
            var cli = Directory.GetFiles(Path.Combine(root, "src", "Cli", "bin"), "reweight.dll", SearchOption.AllDirectories).First();
            var (ran, info) = await RunAsync("dotnet", new Dictionary<string, string> { ["RWTORCH_LIBRARY"] = library }, cli, "torch", "info");
            ran.Should().Be(0, info);
            info.Should().MatchRegex(@"libtorch\s+\d+\.\d+");
            Directory.Delete(Path.Combine(root, output), recursive: true);
        }
        finally
        {
            Directory.Delete(torchDir, recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, IDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in environment) info.Environment[k] = v;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(limit.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
