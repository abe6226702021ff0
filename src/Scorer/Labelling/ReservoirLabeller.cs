using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Polly;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Reweighting.Storage.Writing;

namespace Reweighting.Scorer.Labelling;

/// <summary>Labels documents with a GMM fitted on a reservoir sample of their statistics. Labels nothing until
/// <see cref="LabellingOptions.WarmUpDocuments"/> documents were observed, then fits and stores version 1; every
/// <see cref="LabellingOptions.RefitEveryDocuments"/> documents after a fit it refits, warm-started from the version in
/// use, and stores the next version. Labels always name a version that is stored. A restarted labeller continues
/// from the latest stored version of its scorer model. Thread-safe: observing and labelling may run on any threads;
/// one fit runs at a time, and labelling carries on with the current version while it does.</summary>
public sealed class ReservoirLabeller
{
    private readonly LabellingOptions _options;
    private readonly GmmVersionLedger _ledger;
    private readonly ResiliencePipeline _retry;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly GmmFeatureSetting _setting;
    private readonly ILabelRule _rule;
    private readonly GmmFitOptions _fitOptions;

    private readonly Lock _gate = new();                      // guards the reservoir and _nextFitAt
    private readonly SemaphoreSlim _fitting = new(1, 1);      // one fit at a time
    private readonly StatisticsReservoir _reservoir;
    private long _nextFitAt;
    private volatile ActiveVersion? _active;

    private sealed record ActiveVersion(GmmModel Model, GmmLabeller Labeller);

    private ReservoirLabeller(NpgsqlDataSource dataSource, LabellingOptions options, WriteRetryOptions? retry, ILogger? logger, TimeProvider? time)
    {
        _options = options.Validate();
        _ledger = new GmmVersionLedger(dataSource);
        _logger = logger ?? NullLogger.Instance;
        _retry = (retry ?? new WriteRetryOptions()).BuildPipeline(_logger);
        _time = time ?? TimeProvider.System;
        _setting = GmmFeatureSetting.Get(options.FeatureSetting);
        _rule = LabelRules.Get(options.LabelRule);
        _fitOptions = new GmmFitOptions(Components: options.Components, Restarts: options.FitRestarts,
            MaxIterations: options.MaxIterations, Seed: options.Seed);
        _reservoir = new StatisticsReservoir(options.ReservoirCapacity, options.Seed);
        _nextFitAt = options.WarmUpDocuments;
    }

    /// <summary>A labeller for <see cref="LabellingOptions.ScorerModel"/>: continues from the latest stored version of
    /// that model when there is one (no second warm-up), and refills the reservoir from stored statistics when
    /// <see cref="LabellingOptions.ReseedFromStoredScores"/> is set.</summary>
    public static async Task<ReservoirLabeller> OpenAsync(NpgsqlDataSource dataSource, LabellingOptions options,
        WriteRetryOptions? retry = null, ILogger<ReservoirLabeller>? logger = null, TimeProvider? time = null, CancellationToken ct = default)
    {
        var labeller = new ReservoirLabeller(dataSource, options, retry, logger, time);
        await labeller.LoadAsync(ct);
        return labeller;
    }

    /// <summary>Raised after a new version was stored (on the thread that fitted it); e.g. to publish
    /// <see cref="GmmVersionStored.ToControlEvent"/> on the bus.</summary>
    public event Action<GmmVersionStored>? VersionStored;

    /// <summary>The version labels come from now, or null before the first fit.</summary>
    public GmmModel? CurrentModel => _active?.Model;

    /// <summary>Documents observed (with finite statistics), including those a reseed stood for.</summary>
    public long DocumentsObserved
    {
        get
        {
            lock (_gate) return _reservoir.Seen;
        }
    }

    /// <summary>The last stored fit of this instance, or null when it has fitted nothing yet.</summary>
    public GmmVersionStored? LastFit { get; private set; }

    /// <summary>The options in force.</summary>
    public LabellingOptions Options => _options;

    /// <summary>A copy of the reservoir's sample.</summary>
    public (double Mean, double Variance)[] ReservoirSample()
    {
        lock (_gate) return _reservoir.Snapshot();
    }

    /// <summary>The verdict of the current version on one document's (loss mean, loss variance), without observing it;
    /// <see cref="DocumentVerdict.Unlabelled"/> before the first fit or for non-finite statistics.</summary>
    public DocumentVerdict Assign(double lossMean, double lossVariance)
    {
        var active = _active;
        if (active is null || !IsFinite(lossMean, lossVariance)) return DocumentVerdict.Unlabelled;
        return new DocumentVerdict(active.Labeller.Assign(lossMean, lossVariance), active.Model.Version);
    }

    /// <summary>Adds one document's statistics to the reservoir (non-finite ones are ignored); true when a fit is now due.</summary>
    public bool Observe(double lossMean, double lossVariance)
    {
        lock (_gate)
        {
            if (IsFinite(lossMean, lossVariance)) _reservoir.Add(lossMean, lossVariance);
            return FitDueUnderLock();
        }
    }

    /// <summary>Observes a batch's statistics, fits or refits when that is due (storing the new version first), then
    /// labels every document of the batch with one version: the batch that completes the warm-up is labelled by
    /// version 1.</summary>
    public async Task<LabelledBatch> LabelBatchAsync(IReadOnlyList<(double Mean, double Variance)> statistics, CancellationToken ct = default)
    {
        bool due;
        lock (_gate)
        {
            foreach (var (mean, variance) in statistics)
                if (IsFinite(mean, variance)) _reservoir.Add(mean, variance);
            due = FitDueUnderLock();
        }
        if (due) await RefitIfDueAsync(ct);

        var active = _active;
        var assignments = new LabelAssignment[statistics.Count];
        for (var i = 0; i < statistics.Count; i++)
            assignments[i] = active is not null && IsFinite(statistics[i].Mean, statistics[i].Variance)
                ? active.Labeller.Assign(statistics[i].Mean, statistics[i].Variance)
                : DocumentVerdict.NoVerdict;
        // A non-finite document inside a labelled batch cannot carry K responsibilities; give it a uniform posterior.
        if (active is not null)
        {
            var k = active.Model.Parameters.Components;
            for (var i = 0; i < assignments.Length; i++)
                if (ReferenceEquals(assignments[i], DocumentVerdict.NoVerdict))
                    assignments[i] = new LabelAssignment(SampleLabel.Hard, 0, Enumerable.Repeat(1.0 / k, k).ToArray());
        }
        return new LabelledBatch(active?.Model.Version, active?.Model.Parameters.Components ?? 0, assignments);
    }

    /// <summary>Fits and stores the next version when the warm-up or the refit interval has passed; returns it, or
    /// null when no fit was due (or another caller just did it). A failed fit or store is logged and tried again after
    /// a tenth of the refit interval; labelling goes on with the version in use.</summary>
    public async Task<GmmVersionStored?> RefitIfDueAsync(CancellationToken ct = default)
    {
        await _fitting.WaitAsync(ct);
        try
        {
            (double Mean, double Variance)[] sample;
            long observed;
            lock (_gate)
            {
                if (!FitDueUnderLock()) return null;
                sample = _reservoir.Snapshot();
                observed = _reservoir.Seen;
            }
            var previous = _active?.Model;
            GmmVersionStored stored;
            try
            {
                var fit = await Task.Run(() => ReservoirFit.Run(sample, _setting, _fitOptions, previous?.Parameters), ct);
                var labelMap = _rule.Map(fit.Fit.Parameters);
                // PostgreSQL keeps microseconds; so does the model in memory, and a reload equals it.
                var now = _time.GetUtcNow();
                var fittedAt = now.AddTicks(-(now.UtcTicks % TimeSpan.TicksPerMicrosecond));
                var model = await _retry.ExecuteAsync(async token => await _ledger.SaveNextAsync(version =>
                    new GmmModel(version, _options.ScorerModel, fit.Fit.Parameters, labelMap, sample.Length, fit.Fit.MeanLogLikelihood, fittedAt), token), ct);
                stored = new GmmVersionStored(model, fit.WarmStarted, fit.Fit.Iterations, fit.Fit.Converged, observed);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                lock (_gate) _nextFitAt = _reservoir.Seen + Math.Max(1, _options.RefitEveryDocuments / 10);
                _logger.LogError(ex, "GMM fit on {Samples} statistics of {ScorerModel} failed; labelling continues with version {Version}",
                    sample.Length, _options.ScorerModel, previous?.Version.ToString() ?? "none");
                return null;
            }

            _active = new ActiveVersion(stored.Model, GmmLabeller.FromModel(stored.Model));
            LastFit = stored;
            lock (_gate) _nextFitAt = observed + _options.RefitEveryDocuments;
            _logger.LogInformation(
                "Stored GMM version {Version} of {ScorerModel}: {Samples} statistics of {Observed} documents, {Start} start, {Iterations} EM iterations, mean log-likelihood {LogLikelihood:F4}, labels [{Labels}]",
                stored.Model.Version, _options.ScorerModel, sample.Length, observed, stored.WarmStarted ? $"warm (from version {previous!.Version})" : "cold",
                stored.Iterations, stored.Model.LogLikelihood, string.Join(", ", stored.Model.LabelMap.Select(l => l.ToWire())));
            VersionStored?.Invoke(stored);
            return stored;
        }
        finally
        {
            _fitting.Release();
        }
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        var latest = await _retry.ExecuteAsync(async token => await _ledger.LatestAsync(_options.ScorerModel, token), ct);
        if (latest is not null) _active = new ActiveVersion(latest, GmmLabeller.FromModel(latest));

        long population = 0;
        if (_options.ReseedFromStoredScores)
        {
            var (sample, stored) = await _retry.ExecuteAsync(async token =>
                await _ledger.SampleStatisticsAsync(_options.ScorerModel, _options.ReservoirCapacity, _options.Seed, token), ct);
            lock (_gate) _reservoir.Reseed(sample, stored);
            population = stored;
        }
        lock (_gate) _nextFitAt = latest is null ? _options.WarmUpDocuments : population + _options.RefitEveryDocuments;
        _logger.LogInformation("GMM labeller for {ScorerModel}: {State}; reservoir reseeded with {Sample} of {Stored} stored statistics",
            _options.ScorerModel, latest is null ? $"warming up ({_options.WarmUpDocuments} documents)" : $"continuing with stored version {latest.Version}",
            Math.Min(population, _options.ReservoirCapacity), population);
    }

    private bool FitDueUnderLock() => _reservoir.Seen >= _nextFitAt && _reservoir.Count >= _options.Components;

    private static bool IsFinite(double mean, double variance) => double.IsFinite(mean) && double.IsFinite(variance) && variance >= 0;
}
