using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using Reweighting.Torch.Distributed;

namespace Reweighting.Cli.Commands;

/// <summary>`--nproc N`: starts N local ranks of the same command as separate processes, with the variables torchrun
/// sets (<c>WORLD_SIZE</c>, <c>RANK</c>, <c>LOCAL_RANK</c>, <c>LOCAL_WORLD_SIZE</c>, <c>MASTER_ADDR</c>, <c>MASTER_PORT</c>
/// on a free loopback port; <c>OMP_NUM_THREADS</c> = cores / N unless set), and waits for them. Rank 0 writes to this
/// terminal; the others' output is kept and shown when they fail. When one rank fails, the others are stopped at once and
/// the launcher exits with its code; SIGINT and SIGTERM are passed on to every rank, which then agree on a step to stop
/// after (and rank 0 checkpoints).</summary>
internal static class RankLauncher
{
    /// <summary>The option every data-parallel command takes.</summary>
    public const string Option = "--nproc";

    private const int TailLines = 40;

    private static volatile bool Interrupted;

    /// <summary>The <c>--nproc</c> option of a data-parallel command whose global micro-batch <paramref name="batch"/> names.</summary>
    public static System.CommandLine.Option<int> CreateOption(string batch) => new(Option)
    {
        Description = $"Data-parallel ranks to start on this machine (Gloo on the CPU); {batch} stays the global micro-batch " +
                      "and must split evenly. Or start one process per rank with WORLD_SIZE, RANK, MASTER_ADDR and MASTER_PORT " +
                      "set, as torchrun does",
        DefaultValueFactory = _ => 1,
    };

    /// <summary>Runs this process's command line, without <c>--nproc</c>, as <paramref name="ranks"/> processes.</summary>
    public static int Run(int ranks)
    {
        if (ranks < 1) throw new ArgumentException($"{Option} must be at least 1, not {ranks}");
        if (ProcessGroup.InEnvironment)
            throw new ArgumentException($"{Option} inside a rank: WORLD_SIZE is already set, so this process is one rank of a group");
        var (program, prefix) = SelfCommand();
        var args = WithoutNproc(Environment.GetCommandLineArgs().Skip(1).ToList());
        var port = LocalRanks.FreeLoopbackPort();
        Console.Error.WriteLine($"starting {ranks} ranks (gloo, 127.0.0.1:{port}); rank 0 reports, the others' output is shown if " +
                                "they fail");
        var children = new List<Child>();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => Forward(ctx, children));
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => Forward(ctx, children));
        try
        {
            for (var rank = 0; rank < ranks; rank++)
            {
                var start = new ProcessStartInfo(program)
                {
                    UseShellExecute = false, RedirectStandardError = rank > 0, RedirectStandardOutput = rank > 0,
                };
                foreach (var a in prefix.Concat(args)) start.ArgumentList.Add(a);
                start.Environment["WORLD_SIZE"] = ranks.ToString(CultureInfo.InvariantCulture);
                start.Environment["RANK"] = start.Environment["LOCAL_RANK"] = rank.ToString(CultureInfo.InvariantCulture);
                start.Environment["LOCAL_WORLD_SIZE"] = ranks.ToString(CultureInfo.InvariantCulture);
                start.Environment["MASTER_ADDR"] = "127.0.0.1";
                start.Environment["MASTER_PORT"] = port.ToString(CultureInfo.InvariantCulture);
                // As torchrun does, ranks share the cores instead of each starting a thread per core.
                if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_NUM_THREADS")))
                    start.Environment["OMP_NUM_THREADS"] =
                        Math.Max(1, Environment.ProcessorCount / ranks).ToString(CultureInfo.InvariantCulture);
                var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start rank {rank}");
                var child = new Child(rank, process);
                if (rank > 0)
                {
                    process.OutputDataReceived += (_, e) => child.Keep(e.Data);
                    process.ErrorDataReceived += (_, e) => child.Keep(e.Data);
                    process.BeginOutputReadLine();
                    process.BeginErrorReadLine();
                }
                lock (children) children.Add(child);
            }
            while (true)
            {
                // After SIGINT or SIGTERM the ranks stop together (rank 0 checkpoints first): wait for all of them.
                var failed = Interrupted ? null : children.FirstOrDefault(c => c.Process.HasExited && c.Process.ExitCode != 0);
                if (failed is not null)
                {
                    StopAll(children);
                    Console.Error.WriteLine(
                        $"error: rank {failed.Rank} exited with code {failed.Process.ExitCode}; the other ranks were stopped");
                    foreach (var line in failed.Tail()) Console.Error.WriteLine($"[rank {failed.Rank}] {line}");
                    return failed.Process.ExitCode;
                }
                if (children.All(c => c.Process.HasExited)) return children.Select(c => c.Process.ExitCode).FirstOrDefault(c => c != 0);
                Thread.Sleep(100);
            }
        }
        finally
        {
            StopAll(children);
            foreach (var c in children) c.Process.Dispose();
        }
    }

    /// <summary>The arguments without <c>--nproc N</c> (or <c>--nproc=N</c>).</summary>
    internal static List<string> WithoutNproc(IReadOnlyList<string> args)
    {
        var kept = new List<string>(args.Count);
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == Option)
            {
                i++;
                continue;
            }
            if (!args[i].StartsWith(Option + "=", StringComparison.Ordinal)) kept.Add(args[i]);
        }
        return kept;
    }

    /// <summary>How to start this program again: the host and, under <c>dotnet</c>, the entry assembly.</summary>
    private static (string Program, string[] Prefix) SelfCommand()
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which program this process runs");
        var entry = Assembly.GetEntryAssembly()?.Location;
        var underDotnet = Path.GetFileNameWithoutExtension(host) == "dotnet" && !string.IsNullOrEmpty(entry);
        return (host, underDotnet ? [entry!] : []);
    }

    private static void Forward(PosixSignalContext context, List<Child> children)
    {
        context.Cancel = true; // the launcher waits for its ranks to checkpoint and exit
        Interrupted = true;
        lock (children)
            foreach (var c in children.Where(c => !c.Process.HasExited))
                _ = Kill(c.Process.Id, context.Signal == PosixSignal.SIGINT ? 2 : 15);
    }

    private static void StopAll(List<Child> children)
    {
        lock (children)
            foreach (var c in children)
                try
                {
                    if (!c.Process.HasExited) c.Process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // it exited meanwhile
                }
    }

    [DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    private sealed class Child(int rank, Process process)
    {
        private readonly Queue<string> _tail = new();

        public int Rank { get; } = rank;

        public Process Process { get; } = process;

        public void Keep(string? line)
        {
            if (line is null) return;
            lock (_tail)
            {
                _tail.Enqueue(line);
                if (_tail.Count > TailLines) _tail.Dequeue();
            }
        }

        public string[] Tail()
        {
            Process.WaitForExit(); // drains the redirected streams
            lock (_tail) return [.. _tail];
        }
    }
}
