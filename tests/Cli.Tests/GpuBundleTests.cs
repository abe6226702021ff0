using System.Diagnostics;
using FluentAssertions;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>The GPU bundle is built like a user builds it and run like on a machine without .NET: unpacked, the shim
/// built from its sources (here against the machine's CPU libtorch), the application run by the bundled runtime.</summary>
public sealed class GpuBundleTests : IDisposable
{
    private readonly CliRunner.TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "scripts", "gpu-bundle.sh"))) return d.FullName;
        throw new DirectoryNotFoundException("no scripts/gpu-bundle.sh above the test directory");
    }

    private static (int ExitCode, string Output) Run(string script, IDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo(script) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in environment) info.Environment[k] = v;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(12)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} did not finish in 12 minutes");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    [Fact]
    public void The_bundle_fits_its_size_limit_and_runs_without_an_installed_dotnet_on_path()
    {
        var root = RepositoryRoot();
        var archive = Path.Combine(_dir.Path, "gpu-bundle.tar.xz");
        var (packed, packLog) = Run(Path.Combine(root, "scripts", "gpu-bundle.sh"), new Dictionary<string, string>(), archive);
        packed.Should().Be(0, packLog);
        new FileInfo(archive).Length.Should().BeLessThanOrEqualTo(60L * 1024 * 1024, "the bundle must travel within 60 MB");
        packLog.Should().Contain("runtime: Microsoft.NETCore.App");

        // A PATH that has every tool of this machine except dotnet: the bundled runtime must be enough.
        var tools = Directory.CreateDirectory(Path.Combine(_dir.Path, "bin")).FullName;
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Where(Directory.Exists))
        foreach (var tool in Directory.EnumerateFiles(folder))
        {
            var name = Path.GetFileName(tool);
            if (name == "dotnet" || File.Exists(Path.Combine(tools, name))) continue;
            File.CreateSymbolicLink(Path.Combine(tools, name), tool);
        }
        var path = tools;
        var (ran, output) = Run(Path.Combine(root, "scripts", "gpu-run.sh"), new Dictionary<string, string>
        {
            ["TORCH_DIR"] = "system", ["GPU_RUN_DIR"] = Path.Combine(_dir.Path, "run"), ["PATH"] = path,
        }, archive, "torch", "info");
        ran.Should().Be(0, output);
        output.Should().Contain("Built build/librwtorch.so").And.Contain("libtorch").And.Contain("cuda_compiled");

        // The one-shot GPU check from the unpacked bundle, on this machine without CUDA: every stage runs and logs, the
        // CUDA smoke run fails with the clear message of a CPU-only shim, the benchmark skips, and the run says it failed.
        var unpacked = Path.Combine(_dir.Path, "run", "reweight-gpu");
        File.Exists(Path.Combine(unpacked, "bench", "gpu.bench.sh")).Should().BeTrue();
        File.Exists(Path.Combine(unpacked, "bench", "reference", "gpu_reference.py")).Should().BeTrue();
        var results = Path.Combine(_dir.Path, "out");
        var (checkedRc, checkLog) = Run(Path.Combine(unpacked, "gpu-check.sh"), new Dictionary<string, string>
        {
            ["TORCH_DIR"] = "system", ["GPU_RUN_DIR"] = Path.Combine(_dir.Path, "run"), ["PATH"] = path, ["PYTHON"] = "/bin/false",
        }, archive, results);
        checkedRc.Should().Be(1, checkLog);
        File.ReadAllText(Path.Combine(results, "build.log")).Should().Contain("built against a CPU-only libtorch");
        File.ReadAllText(Path.Combine(results, "bench.log")).Should().Contain("SKIPPED: no CUDA device");
        File.ReadAllText(Path.Combine(results, "summary.txt")).Should().Contain("build: FAILED").And.Contain("parity: FAILED").And.Contain("bench: ok");

        var (missing, message) = Run(Path.Combine(root, "scripts", "gpu-run.sh"), new Dictionary<string, string>(), Path.Combine(_dir.Path, "absent.tar.xz"));
        missing.Should().NotBe(0);
        message.Should().Contain("no bundle");
    }
}
