using System.Globalization;
using Reweighting.Torch.Native;

namespace Reweighting.Torch.Distributed;

/// <summary>How <see cref="ProcessGroup.AllReduce"/> combines the ranks' tensors.</summary>
public enum ReduceOp
{
    /// <summary>Element-wise sum.</summary>
    Sum = 0,

    /// <summary>Element-wise maximum.</summary>
    Max = 1,

    /// <summary>Element-wise minimum.</summary>
    Min = 2,

    /// <summary>Element-wise product.</summary>
    Product = 3,
}

/// <summary>Where a process joins its group: the backend, the rendezvous (rank 0 serves a TCP store at
/// <see cref="MasterAddress"/>:<see cref="MasterPort"/>), its rank and the world size.</summary>
public sealed record ProcessGroupOptions(int Rank, int WorldSize, string MasterAddress = "127.0.0.1", int MasterPort = 29500,
    string Backend = "gloo")
{
    /// <summary>How long joining and each collective may wait for the other ranks.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The options torchrun's environment gives: <c>RANK</c>, <c>WORLD_SIZE</c>, <c>MASTER_ADDR</c> (default
    /// 127.0.0.1) and <c>MASTER_PORT</c> (default 29500); and <c>RWT_DIST_TIMEOUT_S</c>, the seconds joining and each
    /// collective may wait for the other ranks (default 300), which bounds how long a rank waits for a silent peer.</summary>
    /// <exception cref="ArgumentException">A variable is missing or not a number, or the rank is outside the world.</exception>
    public static ProcessGroupOptions FromEnvironment(Func<string, string?>? variable = null, string backend = "gloo")
    {
        variable ??= Environment.GetEnvironmentVariable;
        int Number(string name, int? fallback)
        {
            var text = variable(name);
            if (string.IsNullOrWhiteSpace(text))
                return fallback ?? throw new ArgumentException(
                    $"{name} is not set (torchrun sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT)");
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
                ? value : throw new ArgumentException($"{name} must be an integer, not '{text}'");
        }
        var options = new ProcessGroupOptions(Number("RANK", null), Number("WORLD_SIZE", null),
            variable("MASTER_ADDR") is { Length: > 0 } address ? address : "127.0.0.1", Number("MASTER_PORT", 29500), backend);
        if (variable("RWT_DIST_TIMEOUT_S") is { Length: > 0 } timeout)
        {
            options = double.TryParse(timeout, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
                ? options with { Timeout = TimeSpan.FromSeconds(seconds) }
                : throw new ArgumentException($"RWT_DIST_TIMEOUT_S must be a positive number of seconds, not '{timeout}'");
        }
        return options.Validate();
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public ProcessGroupOptions Validate()
    {
        if (WorldSize < 1) throw new ArgumentException($"WORLD_SIZE must be at least 1, not {WorldSize}");
        if (Rank < 0 || Rank >= WorldSize) throw new ArgumentException($"RANK {Rank} is not in a world of {WorldSize}");
        if (MasterPort is < 1 or > 65535) throw new ArgumentException($"MASTER_PORT {MasterPort} is out of range");
        if (Timeout <= TimeSpan.Zero) throw new ArgumentException("the process group timeout must be positive");
        return this;
    }
}

/// <summary>A c10d process group (libtorch's distributed package): collectives across the ranks of a data-parallel job.
/// Every rank must call the same collectives in the same order. Gloo serves CPU tensors.</summary>
public sealed class ProcessGroup : IDisposable
{
    private IntPtr _handle;

    private ProcessGroup(IntPtr handle, ProcessGroupOptions options)
    {
        _handle = handle;
        Options = options;
    }

    /// <summary>How this group was joined.</summary>
    public ProcessGroupOptions Options { get; }

    /// <summary>This process's rank.</summary>
    public int Rank => Options.Rank;

    /// <summary>How many ranks the group has.</summary>
    public int WorldSize => Options.WorldSize;

    /// <summary>Whether the loaded shim can create groups of this backend ("gloo", "nccl").</summary>
    public static bool IsAvailable(string backend) => NativeMethods.rwt_dist_has_backend(backend) == 1;

    /// <summary>Joins the group: blocks until every rank has joined or the timeout passes.</summary>
    /// <exception cref="TorchException">The backend is missing from this build, or the rendezvous failed.</exception>
    public static ProcessGroup Join(ProcessGroupOptions options)
    {
        options.Validate();
        var handle = NativeMethods.rwt_dist_init(options.Backend, options.MasterAddress, options.MasterPort, options.Rank,
            options.WorldSize, (long)options.Timeout.TotalMilliseconds);
        if (handle == IntPtr.Zero)
            throw Errors.Failure($"joining the {options.Backend} process group as rank {options.Rank} of {options.WorldSize}");
        return new ProcessGroup(handle, options);
    }

    /// <summary>In place: <paramref name="tensor"/> becomes the reduction of every rank's tensor.</summary>
    public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum) =>
        Errors.Check(NativeMethods.rwt_dist_all_reduce(Live(), tensor.Handle, (int)op), "all_reduce", tensor);

    /// <summary>Every rank's <paramref name="tensor"/> (the same shape on every rank), stacked in rank order.</summary>
    public Tensor AllGather(Tensor tensor) => Errors.Wrap(NativeMethods.rwt_dist_all_gather(Live(), tensor.Handle), "all_gather", tensor);

    /// <summary>In place: <paramref name="tensor"/> becomes rank <paramref name="root"/>'s.</summary>
    public void Broadcast(Tensor tensor, int root = 0) =>
        Errors.Check(NativeMethods.rwt_dist_broadcast(Live(), tensor.Handle, root), "broadcast", tensor);

    /// <summary>True when the environment names a world larger than one (<c>WORLD_SIZE</c>, as torchrun or
    /// <c>--nproc</c> set it): this process is one rank of a data-parallel group.</summary>
    public static bool InEnvironment => WorldOf(Environment.GetEnvironmentVariable) > 1;

    private static int WorldOf(Func<string, string?> variable) =>
        int.TryParse(variable("WORLD_SIZE"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var world) ? world : 1;

    /// <summary>Joins the group the environment describes (<see cref="ProcessGroupOptions.FromEnvironment"/>), over NCCL for a
    /// CUDA <paramref name="device"/> when the shim has it, and Gloo otherwise (Gloo also carries CUDA tensors, through host
    /// memory); null when this process is not a rank (<see cref="InEnvironment"/>).</summary>
    /// <exception cref="InvalidOperationException">The loaded shim has no distributed backend.</exception>
    public static ProcessGroup? JoinFromEnvironment(string device)
    {
        if (!InEnvironment) return null;
        var cuda = device.StartsWith("cuda", StringComparison.Ordinal);
        var backend = cuda && IsAvailable("nccl") ? "nccl" : "gloo";
        if (!IsAvailable(backend))
            throw new InvalidOperationException($"the loaded libtorch shim has no {backend} backend: data-parallel training on {device} " +
                                                "needs it (rebuild the shim against a libtorch with distributed support)");
        var options = ProcessGroupOptions.FromEnvironment(backend: backend);
        Console.Error.WriteLine(
            $"rank {options.Rank} of {options.WorldSize}: joining the {backend} group at {options.MasterAddress}:{options.MasterPort}" +
            (cuda && backend == "gloo" ? " (this shim has no NCCL: Gloo averages the CUDA gradients through host memory)" : ""));
        return Join(options);
    }

    /// <summary>The device a rank computes on: a bare <c>cuda</c> becomes <c>cuda:LOCAL_RANK</c> when the environment names
    /// a rank (<see cref="InEnvironment"/>; LOCAL_RANK as torchrun sets it, else RANK), so the ranks of one machine take
    /// one GPU each; anything else is kept.</summary>
    public static string RankDevice(string device, Func<string, string?>? variable = null)
    {
        variable ??= Environment.GetEnvironmentVariable;
        if (device != "cuda" || WorldOf(variable) <= 1) return device;
        var local = variable("LOCAL_RANK") is { Length: > 0 } l ? l : variable("RANK");
        return int.TryParse(local, NumberStyles.Integer, CultureInfo.InvariantCulture, out var index) && index >= 0
            ? $"cuda:{index}"
            : throw new ArgumentException($"LOCAL_RANK must be a non-negative integer, not '{local}'");
    }

    /// <summary>Rank <paramref name="root"/>'s bytes on every rank (two broadcasts: the length, then the bytes);
    /// <paramref name="bytes"/> is read on the root only.</summary>
    public byte[] BroadcastBytes(ReadOnlySpan<byte> bytes, int root = 0)
    {
        using var scope = DisposeScope.Open();
        var length = Torch.FromArray(new[] { Rank == root ? (long)bytes.Length : 0L }, 1);
        Broadcast(length, root);
        var n = length.ToArray<long>()[0];
        if (n == 0) return [];
        var payload = Rank == root ? Torch.FromArray(bytes.ToArray(), n) : Torch.Zeros([n], ScalarType.UInt8);
        Broadcast(payload, root);
        return payload.ToArray<byte>();
    }

    /// <summary>Whether <paramref name="mine"/> holds on any rank (one all-reduce of a flag; e.g. whether any rank was
    /// asked to stop, so every rank stops at the same point and none waits in a collective for one that left).</summary>
    public bool AnyRank(bool mine)
    {
        using var scope = DisposeScope.Open();
        var flag = Torch.FromArray(new[] { mine ? 1f : 0f }, 1);
        AllReduce(flag, ReduceOp.Max);
        return flag.ToArray<float>()[0] > 0;
    }

    /// <summary>Returns once every rank has reached its barrier.</summary>
    public void Barrier() => Errors.Check(NativeMethods.rwt_dist_barrier(Live()), "barrier");

    private IntPtr Live() => _handle != IntPtr.Zero ? _handle : throw new ObjectDisposedException(nameof(ProcessGroup));

    public void Dispose()
    {
        var handle = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (handle != IntPtr.Zero) NativeMethods.rwt_dist_free(handle);
    }
}
