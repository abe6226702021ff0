using System.Globalization;
using System.Text;
using Prometheus;

namespace Reweighting.Dashboard;

/// <summary>The /metrics page of one service, through prometheus-net: a private <see cref="CollectorRegistry"/> with the
/// reweight_* families of its component, set from a <see cref="MetricsSnapshot"/> just before each scrape; the batch-latency
/// summary, fed as batches commit; and the library's process and .NET runtime metrics. A figure that is not known yet (no
/// step taken, CPU only, no lag reported) has no sample rather than a 0.</summary>
public sealed class MetricsExposition : IDisposable
{
    /// <summary>How far back the batch-latency quantiles look.</summary>
    internal static readonly TimeSpan LatencyMaxAge = TimeSpan.FromMinutes(10);

    // The reported quantiles and the rank error the library's streaming estimate may make on each.
    private static readonly QuantileEpsilonPair[] LatencyObjectives = [new(0.5, 0.05), new(0.9, 0.01), new(0.99, 0.001)];

    private readonly object _gate = new();
    private readonly PipelineMetrics _metrics;
    private readonly Gauge _info, _up, _uptime, _gpuMemory, _gmmVersion;
    private readonly Summary? _latency;
    private readonly ScorerFamilies? _scorer;
    private readonly TrainerFamilies? _trainer;
    private readonly IDisposable? _runtime;
    private string[]? _infoLabels;

    /// <summary>The families of <paramref name="metrics"/>' component; with <paramref name="processMetrics"/> also the
    /// process_*, dotnet_* and System.Runtime families prometheus-net collects for any .NET process.</summary>
    public MetricsExposition(PipelineMetrics metrics, bool processMetrics = true)
    {
        _metrics = metrics;
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        var scorer = metrics.Component == DashboardComponents.Scorer;
        string[] infoLabels = scorer ? ["service", "device", "instance", "model"] : ["service", "device", "run_id", "strategy"];
        _info = factory.CreateGauge("reweight_info",
            "The service: component, device, scorer instance and model, training run and strategy (always 1).", infoLabels);
        _up = factory.CreateGauge("reweight_up", "1 while the service's worker runs, 0 before it starts and after it stops.");
        _uptime = factory.CreateGauge("reweight_uptime_seconds", "Seconds since the service started.");
        _gpuMemory = factory.CreateGauge("reweight_gpu_memory_bytes",
            "Bytes held by tensors on the CUDA device (torch.cuda.memory_allocated).", ["device"]);
        _gmmVersion = Optional(factory, "reweight_gmm_version", "The GMM version labelling documents.");
        if (scorer)
        {
            _scorer = new ScorerFamilies(factory);
            _latency = factory.CreateSummary("reweight_batch_latency_seconds",
                "Seconds from a batch's first consumed record to its commit; quantiles over the last " +
                $"{LatencyMaxAge.TotalMinutes:0} minutes.",
                new SummaryConfiguration { Objectives = LatencyObjectives, MaxAge = LatencyMaxAge });
            metrics.LatencyMeasured += Observe;
        }
        else _trainer = new TrainerFamilies(factory);
        if (processMetrics)
        {
            DotNetStats.Register(Registry);
            // .NET's own runtime meter (GC, JIT, thread pool, locks); other meters in the process stay out.
            _runtime = MeterAdapter.StartListening(new MeterAdapterOptions
            {
                Registry = Registry, MetricFactory = factory, InstrumentFilterPredicate = i => i.Meter.Name == "System.Runtime",
            });
        }
        Registry.AddBeforeCollectCallback(Update);
    }

    /// <summary>The registry /metrics serves.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>The content type of Prometheus' text format 0.0.4.</summary>
    public const string TextContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>The content type of OpenMetrics 1.0.0.</summary>
    public const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    /// <summary>The exposition of a scrape now: Prometheus' text format 0.0.4, or OpenMetrics with
    /// <paramref name="openMetrics"/>.</summary>
    public async Task<string> RenderAsync(bool openMetrics = false, CancellationToken ct = default)
    {
        using var buffer = new MemoryStream();
        await Registry.CollectAndExportAsTextAsync(buffer, openMetrics ? ExpositionFormat.OpenMetricsText : ExpositionFormat.PrometheusText, ct);
        var text = Encoding.UTF8.GetString(buffer.ToArray());
        return openMetrics ? text : SpellInfinities(text);
    }

    /// <summary>Whether a scraper's Accept header asks for OpenMetrics (Prometheus does; curl does not).</summary>
    public static bool AcceptsOpenMetrics(string? accept) =>
        accept?.Contains("application/openmetrics-text", StringComparison.OrdinalIgnoreCase) == true;

    // prometheus-net 8.2.1 writes an infinite value in the 0.0.4 format as .NET prints it ("Infinity"); the format
    // spells it +Inf and -Inf (its OpenMetrics writer does). A burn-in temperature is +Inf, so the spelling matters.
    internal static string SpellInfinities(string text)
    {
        if (!text.Contains("Infinity", StringComparison.Ordinal)) return text;
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].StartsWith('#')) continue;
            if (lines[i].EndsWith(" -Infinity", StringComparison.Ordinal)) lines[i] = lines[i][..^"-Infinity".Length] + "-Inf";
            else if (lines[i].EndsWith(" Infinity", StringComparison.Ordinal)) lines[i] = lines[i][..^"Infinity".Length] + "+Inf";
        }
        return string.Join('\n', lines);
    }

    /// <summary>Stops listening to the runtime's meter and to the service's batch latencies.</summary>
    public void Dispose()
    {
        _metrics.LatencyMeasured -= Observe;
        _runtime?.Dispose();
    }

    private void Observe(TimeSpan latency) => _latency?.Observe(latency.TotalSeconds);

    private void Update()
    {
        var s = _metrics.Snapshot();
        lock (_gate)
        {
            string[] info = _scorer is not null
                ? [s.Component, s.Device ?? "", s.Instance ?? "", s.ScorerModel ?? ""]
                : [s.Component, s.Device ?? "", s.RunId ?? "", s.Strategy ?? ""];
            if (_infoLabels is { } previous && !previous.SequenceEqual(info)) _info.RemoveLabelled(previous);
            _info.WithLabels(info).Set(1);
            _infoLabels = info;
            _up.Set(s.State == WorkerState.Running ? 1 : 0);
            _uptime.Set(s.UptimeSeconds);
            Replace(_gpuMemory, s.GpuMemoryBytes is { } memory && s.Device is { } device ? [([device], memory)] : []);
            SetOrClear(_gmmVersion, s.GmmVersion);
            _scorer?.Update(s);
            _trainer?.Update(s);
        }
    }

    /// <summary>A gauge with no sample until it is first set.</summary>
    internal static Gauge Optional(IMetricFactory factory, string name, string help, params string[] labels) =>
        factory.CreateGauge(name, help, new GaugeConfiguration { LabelNames = labels, SuppressInitialValue = true });

    /// <summary>Sets <paramref name="gauge"/>, or withdraws its sample while the figure is unknown.</summary>
    internal static void SetOrClear(Gauge gauge, double? value)
    {
        if (value is { } v) gauge.Set(v);
        else gauge.Unpublish();
    }

    /// <summary>Makes <paramref name="family"/>'s samples exactly <paramref name="samples"/>: stale label sets go.</summary>
    internal static void Replace(Gauge family, IReadOnlyCollection<(string[] Labels, double Value)> samples)
    {
        var keep = samples.Select(s => string.Join('\0', s.Labels)).ToHashSet(StringComparer.Ordinal);
        foreach (var labels in family.GetAllLabelValues().ToList())
            if (!keep.Contains(string.Join('\0', labels))) family.RemoveLabelled(labels);
        foreach (var (labels, value) in samples) family.WithLabels(labels).Set(value);
    }

    /// <summary>The label value of a partition, a component index and the like.</summary>
    internal static string Label(int value) => value.ToString(CultureInfo.InvariantCulture);

    private sealed class ScorerFamilies(IMetricFactory f)
    {
        private readonly Counter _documents =
            f.CreateCounter("reweight_documents_scored_total", "Documents scored and stored in PostgreSQL.");
        private readonly Counter _tokens = f.CreateCounter("reweight_tokens_scored_total", "Tokens of the scored documents.");
        private readonly Counter _deadLetters =
            f.CreateCounter("reweight_dead_letters_total", "Records sent to the dead-letter topic.");
        private readonly Counter _batches = f.CreateCounter("reweight_batches_scored_total", "Batches committed to PostgreSQL.");
        private readonly Counter _outages = f.CreateCounter("reweight_store_outages_total",
            "Times PostgreSQL (or Kafka) became unreachable and consumption paused.",
            new CounterConfiguration { SuppressInitialValue = true });
        private readonly Gauge _documentsPerSecond =
            f.CreateGauge("reweight_documents_per_second", "Documents stored per second over the last 30 seconds.");
        private readonly Gauge _tokensPerSecond =
            f.CreateGauge("reweight_tokens_per_second", "Tokens scored per second over the last 30 seconds.");
        private readonly Gauge _lag = f.CreateGauge("reweight_consumer_lag",
            "Messages between the partition's high watermark and the scorer's stored offset.", ["topic", "partition"]);
        private readonly Gauge _inFlight = Optional(f, "reweight_in_flight_records", "Records consumed and not yet stored.");

        public void Update(MetricsSnapshot s)
        {
            // The totals only grow while the process lives; IncTo keeps the counters monotonic all the same.
            _documents.IncTo(s.Documents);
            _tokens.IncTo(s.Tokens);
            _deadLetters.IncTo(s.DeadLetters);
            _batches.IncTo(s.Batches);
            if (s.Outages is { } outages) _outages.IncTo(outages);
            _documentsPerSecond.Set(s.DocumentsPerSecond);
            _tokensPerSecond.Set(s.ScoredTokensPerSecond);
            Replace(_lag, [.. s.ConsumerLag.Select(l => (new[] { l.Topic, Label(l.Partition) }, (double)l.Lag))]);
            SetOrClear(_inFlight, s.InFlightRecords);
        }
    }

    private sealed class TrainerFamilies(IMetricFactory f)
    {
        private readonly Counter _checkpoints =
            f.CreateCounter("reweight_checkpoints_total", "Checkpoints written since the service started.");
        private readonly Gauge _checkpointStep = Optional(f, "reweight_checkpoint_step", "The step of the last checkpoint.");
        private readonly Gauge _step = Optional(f, "reweight_train_step", "Optimiser steps taken in the run.");
        private readonly Gauge _steps = Optional(f, "reweight_train_steps", "The run's length in steps.");
        private readonly Gauge _loss = Optional(f, "reweight_train_loss", "Mean token loss of the last step.");
        private readonly Gauge _validLoss = Optional(f, "reweight_valid_loss", "Validation loss (all domains) of the last evaluation.");
        private readonly Gauge _learningRate = Optional(f, "reweight_learning_rate", "Learning rate of the last step.");
        private readonly Gauge _tokensPerSecond =
            Optional(f, "reweight_tokens_per_second", "Training tokens per second of the last step.");
        private readonly Gauge _temperature = Optional(f, "reweight_temperature",
            "Softmax temperature r of the loss-shape strategies (+Inf in burn-in).");
        private readonly Gauge _lambda = f.CreateGauge("reweight_phi_lambda", "Meta-EM cluster precision lambda_k.", ["component"]);
        private readonly Gauge _pi = f.CreateGauge("reweight_phi_pi", "Meta-EM cluster mixing weight pi_k.", ["component"]);

        public void Update(MetricsSnapshot s)
        {
            _checkpoints.IncTo(s.Checkpoints);
            SetOrClear(_checkpointStep, s.CheckpointStep);
            var step = s.Step;
            SetOrClear(_step, step?.Step);
            SetOrClear(_steps, step?.TotalSteps);
            SetOrClear(_loss, step?.Loss);
            SetOrClear(_validLoss, step is null ? null : s.ValidationLoss);
            SetOrClear(_learningRate, step?.LearningRate);
            SetOrClear(_tokensPerSecond, step?.TokensPerSecond);
            SetOrClear(_temperature, step?.Temperature);
            Replace(_lambda, PerComponent(step?.PhiPrecisions));
            Replace(_pi, PerComponent(step?.PhiMixingWeights));
        }

        private static (string[], double)[] PerComponent(IReadOnlyList<double>? values) =>
            values is null ? [] : [.. values.Select((v, k) => (new[] { Label(k) }, v))];
    }
}
