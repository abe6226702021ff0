using System.Net;
using System.Net.Sockets;

namespace Reweighting.Torch.Distributed;

/// <summary>A process group whose ranks are threads of this process, joined through a TCP store on a free loopback
/// port: the same rendezvous and collectives as separate processes use, for checks and tests on one machine.</summary>
public static class LocalRanks
{
    /// <summary>Runs <paramref name="body"/> as every rank of a fresh group of <paramref name="world"/> ranks, each on its
    /// own thread, and returns each rank's result in rank order.</summary>
    /// <exception cref="TimeoutException">A rank did not finish within <paramref name="timeout"/>.</exception>
    /// <exception cref="AggregateException">Ranks failed; one inner exception per failed rank.</exception>
    public static T[] Run<T>(int world, Func<ProcessGroup, T> body, TimeSpan timeout)
    {
        var port = FreeLoopbackPort();
        var results = new T[world];
        var errors = new Exception?[world];
        var threads = Enumerable.Range(0, world).Select(rank => new Thread(() =>
        {
            try
            {
                using var group = ProcessGroup.Join(new ProcessGroupOptions(rank, world, "127.0.0.1", port) { Timeout = timeout });
                results[rank] = body(group);
            }
            catch (Exception e)
            {
                errors[rank] = e;
            }
        }) { IsBackground = true, Name = $"rank-{rank}" }).ToList();
        threads.ForEach(t => t.Start());
        var until = DateTime.UtcNow + timeout;
        foreach (var t in threads)
        {
            var left = until - DateTime.UtcNow;
            if (!t.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero))
                throw new TimeoutException($"{t.Name} did not finish within {timeout}");
        }
        var failed = errors.OfType<Exception>().ToList();
        if (failed.Count > 0) throw new AggregateException("ranks failed", failed);
        return results;
    }

    /// <summary>A TCP port on the loopback interface that nothing listens on now (the store of a local group).</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
