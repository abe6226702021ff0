using System.Diagnostics;
using System.Text;

namespace Reweighting.Storage.Embedded;

/// <summary>Runs PostgreSQL's command-line programs, as the <c>postgres</c> system user when this process is root
/// (initdb and postgres refuse to run as root).</summary>
internal sealed class PostgresTool
{
    /// <summary>The system account Debian's postgresql package creates.</summary>
    public const string ServerAccount = "postgres";

    /// <summary>The account the server runs as, or null for this process's own user.</summary>
    public string? RunAs { get; }

    private readonly string _runUser;

    private PostgresTool(string? runAs, string runUser = "runuser")
    {
        RunAs = runAs;
        this._runUser = runUser;
    }

    /// <summary>util-linux's runuser, found on PATH or in the system directories root's PATH usually holds (a minimal
    /// PATH without sbin would otherwise make every run as the server account fail as if the directory were closed).</summary>
    internal static string? FindRunUser(string? path)
    {
        var directories = (path ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
        return directories.Select(d => Path.Combine(d, "runuser")).FirstOrDefault(File.Exists);
    }

    /// <summary>Chooses who runs the server: this user, or the postgres account when this process is root.</summary>
    public static async Task<PostgresTool> ForCurrentUserAsync(CancellationToken ct)
    {
        if (!Environment.IsPrivilegedProcess) return new PostgresTool(null);
        var probe = await RunRawAsync("id", ["-u", ServerAccount], ct);
        if (probe.ExitCode != 0)
            throw new EmbeddedPostgresException(
                $"This process runs as root, and PostgreSQL refuses to run as root; it runs the embedded server as " +
                $"the '{ServerAccount}' system user, which does not exist here. Install the server package " +
                $"({PostgresBinaries.InstallHint}) which creates it, or run as an ordinary user.");
        var runUser = FindRunUser(Environment.GetEnvironmentVariable("PATH")) ?? throw new EmbeddedPostgresException(
            $"This process runs as root and must start the embedded server as the '{ServerAccount}' user with runuser " +
            "(util-linux), which is neither on PATH nor in /usr/sbin, /sbin, /usr/bin or /bin. Install util-linux, or run as an ordinary user.");
        return new PostgresTool(ServerAccount, runUser);
    }

    /// <summary>Gives a path to the server account (no-op when not root), so the server can own its files.</summary>
    public async Task HandOverAsync(string path, CancellationToken ct)
    {
        if (RunAs is null) return;
        var result = await RunRawAsync("chown", ["-R", $"{RunAs}:", path], ct);
        if (result.ExitCode != 0)
            throw new EmbeddedPostgresException($"Could not hand '{path}' to the {RunAs} user: {result.Output}");
    }

    /// <summary>True when the server account can write to the directory (it also needs to traverse every parent).</summary>
    public async Task<bool> CanWriteAsync(string directory, CancellationToken ct)
    {
        if (RunAs is null) return true;
        var result = await RunRawAsync(_runUser, ["-u", RunAs, "--", "test", "-w", directory, "-a", "-x", directory], ct);
        return result.ExitCode == 0;
    }

    /// <summary>Runs a tool; returns its exit code and combined output.</summary>
    public Task<ToolResult> RunAsync(string program, IReadOnlyList<string> args, CancellationToken ct) =>
        RunAs is null
            ? RunRawAsync(program, args, ct)
            : RunRawAsync(_runUser, ["-u", RunAs, "--", program, .. args], ct);

    /// <summary>Runs a tool and throws with its output when it fails.</summary>
    public async Task<string> RunCheckedAsync(string program, IReadOnlyList<string> args, CancellationToken ct)
    {
        var result = await RunAsync(program, args, ct);
        if (result.ExitCode != 0)
            throw new EmbeddedPostgresException(
                $"{Path.GetFileName(program)} {string.Join(' ', args)} failed with exit code {result.ExitCode}:\n{result.Output.Trim()}");
        return result.Output;
    }

    private static async Task<ToolResult> RunRawAsync(string program, IReadOnlyList<string> args, CancellationToken ct)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            // The server's working directory must be one the postgres account may enter.
            WorkingDirectory = "/",
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        // A C locale keeps tool messages parseable and initdb independent of the caller's locale.
        info.Environment["LC_ALL"] = "C";
        info.Environment["LANG"] = "C";

        using var process = new Process { StartInfo = info };
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return new ToolResult(127, $"cannot run {program}: {ex.Message}");
        }
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await process.WaitForExitAsync(ct);
        lock (output) return new ToolResult(process.ExitCode, output.ToString());
    }
}

/// <summary>Exit code and combined stdout/stderr of a finished tool.</summary>
internal readonly record struct ToolResult(int ExitCode, string Output);
