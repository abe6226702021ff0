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
}
