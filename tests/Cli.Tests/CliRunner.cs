using FluentAssertions;
using System.Diagnostics;

namespace Reweighting.Cli.Tests;

/// <summary>Runs the `reweight` command line in a child process and captures its output.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] args) => RunWithin(TimeSpan.FromMinutes(2), args);

    public static Result RunWithin(TimeSpan limit, params string[] args)
    {
        using var process = Start(null, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"reweight {string.Join(' ', args)} did not finish in {limit.TotalMinutes:F0} minutes");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Starts `reweight` in a child process, its output redirected (the caller reads it), with
    /// <paramref name="environment"/> added to this process's environment.</summary>
    public static Process Start(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "reweight.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        return Process.Start(info)!;
    }

    /// <summary>Starts `reweight` as each rank of a <paramref name="world"/>-rank group by hand, with torchrun's variables
    /// (a free loopback port; a 30-second collective timeout), and reads every rank's output; returns the processes and
    /// rank 0's standard error.</summary>
    public static (List<Process> Ranks, Task<string> RankZeroStderr) StartRanks(int world, params string[] args)
    {
        var port = Torch.Distributed.LocalRanks.FreeLoopbackPort();
        var ranks = Enumerable.Range(0, world).Select(rank => Start(new Dictionary<string, string>
        {
            ["WORLD_SIZE"] = world.ToString(), ["RANK"] = rank.ToString(), ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = port.ToString(),
            ["RWT_DIST_TIMEOUT_S"] = "30",
        }, args)).ToList();
        var stderr = ranks[0].StandardError.ReadToEndAsync();
        foreach (var r in ranks.Skip(1)) _ = r.StandardError.ReadToEndAsync();
        foreach (var r in ranks) _ = r.StandardOutput.ReadToEndAsync();
        return (ranks, stderr);
    }

    /// <summary>Waits (at most two minutes, or until <paramref name="process"/> exits) for a step log (one JSON line per
    /// step, as `--log` writes) to hold <paramref name="steps"/> steps, and asserts that it does.</summary>
    public static async Task WaitForStepsAsync(string log, int steps, Process process, string because)
    {
        var until = DateTime.UtcNow.AddMinutes(2);
        while ((!File.Exists(log) || File.ReadAllLines(log).Length < steps) && DateTime.UtcNow < until && !process.HasExited)
            await Task.Delay(100);
        File.ReadAllLines(log).Length.Should().BeGreaterThanOrEqualTo(steps, because);
    }

    /// <summary>A fresh temporary directory removed on dispose.</summary>
    public sealed class TempDirectory : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "rw-cli-" + Guid.NewGuid().ToString("N"));

        public TempDirectory() => Directory.CreateDirectory(Path);

        public void Dispose()
        {
            if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
        }
    }
}
