using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Reweighting.Torch.Distributed;

namespace Reweighting.Trainer.Streaming;

/// <summary>What rank 0 tells the other ranks of a data-parallel streaming trainer at a synchronisation point.</summary>
public enum ReplicaCommand
{
    /// <summary>Take in the records, nothing else (rank 0 is waiting for the stream; a heartbeat).</summary>
    Continue = 0,

    /// <summary>Set up the objective, weighing with the GMM rank 0 resolved (its JSON, or empty for none).</summary>
    SetUp = 1,

    /// <summary>Take the next optimiser step.</summary>
    Step = 2,

    /// <summary>The run ends, for the reason the argument names (completed, idle, shutdown).</summary>
    Stop = 3,
}

/// <summary>One synchronisation: rank 0's command, its argument, and the records rank 0 read since the previous one, in
/// the order it read them.</summary>
public sealed record ReplicaSync(ReplicaCommand Command, string Argument, IReadOnlyList<ConsumeResult<string?, byte[]>> Records);

/// <summary>The streaming trainer as N data-parallel ranks. Rank 0 alone consumes <c>scored-batches</c> and keeps the
/// offsets (in its checkpoint, as one trainer does); every record it reads reaches the other ranks at the next
/// synchronisation point, in the order it read them, so every rank's intake (deduplication, validation split, packing)
/// and objective set-up are the same, and each rank trains its rows of every step's global batch. A synchronisation is
/// one all-reduce (does any rank want to stop?) and one byte broadcast (rank 0's command and records). Rank 0
/// synchronises before every step, after it sets the objective up, when the run ends, and at least once every
/// <see cref="HeartbeatInterval"/> while it waits for the stream, so no rank waits in a collective for longer than that
/// while the job is healthy, and a rank that is asked to stop is heard within it.</summary>
public sealed class StreamReplication
{
    /// <summary>How long rank 0 waits for the stream between synchronisations.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(1);

    private readonly ProcessGroup _group;
    private readonly string _topic;
    private readonly List<ConsumeResult<string?, byte[]>> _unsent = [];
    private readonly Stopwatch _sinceSync = Stopwatch.StartNew();

    /// <param name="group">The data-parallel group.</param>
    /// <param name="topic">The topic every record comes from.</param>
    public StreamReplication(ProcessGroup group, string topic)
    {
        _group = group;
        _topic = topic;
    }

    /// <summary>Whether this rank reads the stream (rank 0).</summary>
    public bool IsLeader => _group.Rank == 0;

    /// <summary>The group.</summary>
    public ProcessGroup Group => _group;

    /// <summary>Wall time spent synchronising so far (waiting for the other ranks included).</summary>
    public TimeSpan SyncTime { get; private set; }

    /// <summary>Whether rank 0 has waited <see cref="HeartbeatInterval"/> since the last synchronisation.</summary>
    public bool HeartbeatDue => _sinceSync.Elapsed >= HeartbeatInterval;

    /// <summary>Rank 0: keeps a record it read, to pass on at the next synchronisation.</summary>
    public void Keep(ConsumeResult<string?, byte[]> record)
    {
        if (!IsLeader) throw new InvalidOperationException("only rank 0 reads the stream");
        if (record.Topic != _topic) throw new ArgumentException($"record of topic {record.Topic}, not {_topic}");
        _unsent.Add(record);
    }

    /// <summary>Synchronises every rank. Every rank says whether it wants to stop (<paramref name="stopping"/>); rank 0
    /// sends <paramref name="command"/> with its argument, or <see cref="ReplicaCommand.Stop"/> ("shutdown") when any rank
    /// wants to stop, with the records it kept; the other ranks' command and argument are ignored. Returns what every
    /// rank now holds.</summary>
    public ReplicaSync Exchange(ReplicaCommand command, string argument, bool stopping)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return Synchronise(command, argument, stopping);
        }
        finally
        {
            SyncTime += Stopwatch.GetElapsedTime(started);
        }
    }

    private ReplicaSync Synchronise(ReplicaCommand command, string argument, bool stopping)
    {
        var anyStopping = _group.AnyRank(stopping); // a collective: every rank calls it
        if (IsLeader && anyStopping && command != ReplicaCommand.Stop)
            (command, argument) = (ReplicaCommand.Stop, TrainerStopReason.Shutdown.ToText());
        var bytes = _group.BroadcastBytes(IsLeader ? Encode(command, argument, _unsent) : []);
        _sinceSync.Restart();
        if (!IsLeader) return Decode(bytes);
        var sync = new ReplicaSync(command, argument, _unsent.ToList());
        _unsent.Clear();
        return sync;
    }

    private static byte[] Encode(ReplicaCommand command, string argument, IReadOnlyList<ConsumeResult<string?, byte[]>> records)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write((int)command);
            writer.Write(argument);
            writer.Write(records.Count);
            foreach (var r in records)
            {
                writer.Write(r.Partition.Value);
                writer.Write(r.Offset.Value);
                var value = r.Message?.Value;
                writer.Write(value?.Length ?? -1);
                if (value is not null) writer.Write(value);
            }
        }
        return stream.ToArray();
    }

    private ReplicaSync Decode(byte[] bytes)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
        var command = (ReplicaCommand)reader.ReadInt32();
        if (!Enum.IsDefined(command)) throw new InvalidDataException($"rank 0 sent an unknown command {(int)command}");
        var argument = reader.ReadString();
        var count = reader.ReadInt32();
        var records = new List<ConsumeResult<string?, byte[]>>(count);
        for (var i = 0; i < count; i++)
        {
            var partition = reader.ReadInt32();
            var offset = reader.ReadInt64();
            var length = reader.ReadInt32();
            var value = length < 0 ? null : reader.ReadBytes(length);
            records.Add(new ConsumeResult<string?, byte[]>
            {
                TopicPartitionOffset = new TopicPartitionOffset(_topic, partition, offset),
                Message = new Message<string?, byte[]> { Value = value! },
            });
        }
        return new ReplicaSync(command, argument, records);
    }
}
