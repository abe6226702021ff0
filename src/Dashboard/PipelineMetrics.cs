using System.Data.Common;
using Reweighting.Contracts.Control;
using Reweighting.Messaging;

namespace Reweighting.Dashboard;

/// <summary>Where a service's worker stands, as /health reports it.</summary>
public enum WorkerState
{
    /// <summary>Not started yet (no started event).</summary>
    Starting,

    /// <summary>Started and not stopped.</summary>
    Running,

    /// <summary>Stopped normally.</summary>
    Stopped,

    /// <summary>Stopped by a fatal error.</summary>
    Failed,
}

/// <summary>The live figures of one service (a scorer or the trainer), fed by its control events
/// (<see cref="PipelineMetricsConsumer"/>) and by the direct hooks of <see cref="IPipelineObserver"/>; read as an
/// immutable <see cref="MetricsSnapshot"/> by /metrics, /status and /health. Thread-safe; every update is a few field
/// writes under one lock.</summary>
public sealed class PipelineMetrics : IPipelineObserver
{
    // Batches whose latency the page's quantiles cover.
    internal const int LatencyWindow = 1024;

    // Throughput is averaged over this much of the recent past.
    internal static readonly TimeSpan RateWindow = TimeSpan.FromSeconds(30);

    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _startedAt;
    private readonly double[] _latencies = new double[LatencyWindow];
    private readonly Queue<(DateTimeOffset At, long Documents, long Tokens)> _throughput = new();
    private Dictionary<(string Topic, int Partition), long> _lag = new();
    private WorkerState _state = WorkerState.Starting;
    private string? _stopReason, _instance, _model, _runId, _strategy, _device;
    private DateTimeOffset? _lastActivity, _lastCheckpointAt;
    private Func<ScorerTotals>? _totals;
    private Func<long>? _gpuMemory;
    private long _eventDocuments, _eventDeadLetters, _eventBatches, _latencyCount;
    private double _latencySum;
    private int? _gmmVersion, _gmmComponents;
    private long? _checkpointStep;
    private TrainerStepFigures? _lastStep;
    private double? _validLoss;
    private int _checkpoints;

    /// <summary>Creates the figures of <paramref name="component"/> ("scorer" or "trainer").</summary>
    public PipelineMetrics(string component, TimeProvider? time = null)
    {
        Component = component;
        _time = time ?? TimeProvider.System;
        _startedAt = _time.GetUtcNow();
    }

    /// <summary>"scorer" or "trainer".</summary>
    public string Component { get; }

    /// <summary>Raised with each batch's latency as <see cref="BatchLatency"/> hears it (outside the figures' lock).</summary>
    public event Action<TimeSpan>? LatencyMeasured;

    /// <summary>The database the service opened, once it has (the charts read it).</summary>
    public DbDataSource? Database { get; private set; }

    /// <summary>Takes one control event into the figures.</summary>
    public void Observe(ControlEvent controlEvent)
    {
        lock (_gate)
        {
            switch (controlEvent)
            {
                case ScorerStarted started:
                    Start();
                    _instance = started.Instance;
                    _model = started.ScorerModel;
                    _gmmVersion = started.GmmVersion ?? _gmmVersion;
                    break;
                case ScorerStopped stopped:
                    Stop(stopped.Reason);
                    break;
                case BatchScored batch:
                    _eventDocuments += batch.Documents;
                    _eventDeadLetters += batch.DeadLettered;
                    _eventBatches++;
                    if (batch.GmmVersion is { } labelledWith && labelledWith > (_gmmVersion ?? 0)) _gmmVersion = labelledWith;
                    _lastActivity = batch.OccurredAt;
                    break;
                case GmmRefitted refit:
                    _gmmVersion = Math.Max(_gmmVersion ?? 0, refit.Version);
                    _gmmComponents = refit.Components;
                    break;
                case TrainerStarted started:
                    Start();
                    _runId = started.RunId;
                    _strategy = started.Strategy;
                    break;
                case TrainerCheckpointed checkpoint:
                    _checkpoints++;
                    _checkpointStep = checkpoint.Step;
                    _lastCheckpointAt = checkpoint.OccurredAt;
                    break;
                case TrainerStopped stopped:
                    Stop(stopped.Reason);
                    break;
            }
        }
    }

    /// <inheritdoc />
    public void DatabaseOpened(DbDataSource database) => Database = database;

    /// <inheritdoc />
    public void DeviceInUse(string device, Func<long>? memoryAllocated)
    {
        lock (_gate)
        {
            _device = device;
            _gpuMemory = memoryAllocated;
        }
    }

    /// <inheritdoc />
    public void ScorerRunning(Func<ScorerTotals> totals)
    {
        lock (_gate)
        {
            _totals = totals;
            // Told directly, so /health says "running" even when no control event arrives.
            if (_state == WorkerState.Starting) _state = WorkerState.Running;
        }
    }

    /// <inheritdoc />
    public void BatchLatency(TimeSpan latency)
    {
        lock (_gate)
        {
            _latencies[_latencyCount % LatencyWindow] = latency.TotalSeconds;
            _latencyCount++;
            _latencySum += latency.TotalSeconds;
            _lastActivity = _time.GetUtcNow();
        }
        LatencyMeasured?.Invoke(latency);
    }

    /// <inheritdoc />
    public void ConsumerStatistics(string json)
    {
        var lag = ConsumerLagStatistics.Parse(json);
        if (lag is null) return;
        lock (_gate) _lag = lag;
    }

    /// <inheritdoc />
    public void TrainerStep(TrainerStepFigures step)
    {
        lock (_gate)
        {
            if (_state == WorkerState.Starting) _state = WorkerState.Running;
            _lastStep = step;
            if (step.ValidationLoss is { } valid) _validLoss = valid;
            _lastActivity = _time.GetUtcNow();
        }
    }

    /// <inheritdoc />
    public void TrainerStopped(string reason)
    {
        lock (_gate) Stop(reason);
    }

    /// <summary>The figures now. Reads the scorer's totals and the CUDA memory through their hooks (a failing read
    /// leaves that figure out).</summary>
    public MetricsSnapshot Snapshot()
    {
        Func<ScorerTotals>? totalsHook;
        Func<long>? memoryHook;
        lock (_gate)
        {
            totalsHook = _totals;
            memoryHook = _gpuMemory;
        }
        var totals = TryRead(totalsHook);
        var memory = memoryHook is null ? null : TryRead(() => (long?)memoryHook());
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            var documents = totals?.Documents ?? _eventDocuments;
            var tokens = totals?.Tokens ?? 0;
            var (documentsPerSecond, tokensPerSecond) = Rates(now, documents, tokens);
            var window = (int)Math.Min(_latencyCount, LatencyWindow);
            var latencies = _latencies.AsSpan(0, window).ToArray();
            Array.Sort(latencies);
            return new MetricsSnapshot
            {
                Component = Component,
                State = _state,
                StopReason = _stopReason,
                StartedAt = _startedAt,
                Now = now,
                LastActivity = _lastActivity,
                Instance = _instance,
                ScorerModel = _model,
                Device = _device,
                GpuMemoryBytes = memory,
                Documents = documents,
                Tokens = tokens,
                DeadLetters = totals?.DeadLetters ?? _eventDeadLetters,
                Batches = totals?.Batches ?? _eventBatches,
                InFlightRecords = totals?.InFlightRecords,
                Outages = totals?.Outages,
                DocumentsPerSecond = documentsPerSecond,
                ScoredTokensPerSecond = tokensPerSecond,
                LatencyCount = _latencyCount,
                LatencySum = _latencySum,
                LatencyQuantiles = window == 0 ? [] : Quantiles.Select(q => (q, Quantile(latencies, q))).ToArray(),
                ConsumerLag = _lag.Select(kv => new PartitionLag(kv.Key.Topic, kv.Key.Partition, kv.Value))
                    .OrderBy(l => l.Topic, StringComparer.Ordinal).ThenBy(l => l.Partition).ToArray(),
                GmmVersion = _gmmVersion,
                GmmComponents = _gmmComponents,
                RunId = _runId,
                Strategy = _strategy,
                Step = _lastStep,
                ValidationLoss = _validLoss,
                Checkpoints = _checkpoints,
                CheckpointStep = _checkpointStep,
                LastCheckpointAt = _lastCheckpointAt,
            };
        }
    }

    /// <summary>The quantiles the batch-latency summary reports.</summary>
    internal static readonly double[] Quantiles = [0.5, 0.9, 0.99];

    private void Start()
    {
        _state = WorkerState.Running;
        _stopReason = null;
    }

    private void Stop(string reason)
    {
        _state = reason.StartsWith("fatal", StringComparison.OrdinalIgnoreCase) ? WorkerState.Failed : WorkerState.Stopped;
        _stopReason = reason;
    }

    // Throughput since the oldest sample of the last RateWindow; a sample is kept at most once a second.
    private (double Documents, double Tokens) Rates(DateTimeOffset now, long documents, long tokens)
    {
        if (_throughput.Count == 0 || now - _throughput.Last().At >= TimeSpan.FromSeconds(1)) _throughput.Enqueue((now, documents, tokens));
        while (_throughput.Count > 2 && now - _throughput.ElementAt(1).At >= RateWindow) _throughput.Dequeue();
        var (at, d0, t0) = _throughput.Peek();
        var seconds = (now - at).TotalSeconds;
        return seconds < 1 ? (0, 0) : ((documents - d0) / seconds, (tokens - t0) / seconds);
    }

    // Nearest-rank quantile of sorted values.
    private static double Quantile(double[] sorted, double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static T? TryRead<T>(Func<T>? read) where T : class
    {
        try
        {
            return read?.Invoke();
        }
        catch (Exception)
        {
            return null;
        }
    }

    private static long? TryRead(Func<long?> read)
    {
        try
        {
            return read();
        }
        catch (Exception)
        {
            // No CUDA device any more, or the native library refused: leave the figure out.
            return null;
        }
    }
}
