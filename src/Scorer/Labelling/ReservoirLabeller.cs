using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Polly;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Reweighting.Storage.Writing;

namespace Reweighting.Scorer.Labelling;

/// <summary>The scorer's GMM: fitted on a reservoir sample of the statistics of committed score rows. It labels nothing
/// until <see cref="LabellingOptions.WarmUpDocuments"/> documents were observed, then fits and stores version 1 and
/// relabels the provisional rows; every <see cref="LabellingOptions.RefitEveryDocuments"/> documents after a fit it
/// refits, warm-started from the version in use, and stores the next version. <see cref="Current"/> only ever holds a
/// stored version. A restarted labeller continues from the latest stored version of its scorer model.</summary>
/// <remarks>Thread-safe. <see cref="Observe"/> only samples (on the caller's thread, in call order, so a seeded run is
/// repeatable) and signals; fits, stores and relabels run in <see cref="RunAsync"/> (or
/// <see cref="RefitIfDueAsync"/>/<see cref="RelabelProvisionalAsync"/> when called directly), one at a time, while
/// labelling carries on with the current version.</remarks>
public sealed class ReservoirLabeller : IDocumentLabeller
{
    private readonly LabellingOptions _options;
    private readonly GmmVersionLedger _ledger;
    private readonly ProvisionalScores _provisional;
    private readonly ResiliencePipeline _retry;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly LabellingSettings _settings;
    private readonly IReadOnlyList<(double First, double Second)>? _reference;
    private readonly IReadOnlyList<double[]>? _noveltyReference;
    private readonly FeatureTransform _transform;
    private readonly GmmFitOptions _fitOptions;

    private readonly Lock _gate = new();                  // guards the reservoir, _nextFitAt and the provisional work
    private readonly SemaphoreSlim _working = new(1, 1);  // one fit or relabel at a time
    private readonly Outbox.WakeSignal _wake = new();
    private readonly Reservoir<ReservoirEntry> _reservoir;
    private readonly HashSet<string> _provisionalIds = [];
    private bool _relabelAll;
    private long _nextFitAt;
    private volatile StoredVersion? _active;

    private sealed record StoredVersion(GmmModel Model, ActiveGmm Gmm);

    /// <summary>A sampled document: the mixture's pair, and its novelty features (null without counted bytes).</summary>
    private readonly record struct ReservoirEntry(double First, double Second, double[]? Novelty);

    private ReservoirLabeller(NpgsqlDataSource dataSource, LabellingOptions options, WriteRetryOptions? retry, ILogger? logger,
        TimeProvider? time, IReadOnlyList<(double First, double Second)>? reference, IReadOnlyList<double[]>? noveltyReference)
    {
        _options = options.Validate();
        _ledger = new GmmVersionLedger(dataSource);
        _provisional = new ProvisionalScores(dataSource);
        _logger = logger ?? NullLogger.Instance;
        _retry = (retry ?? new WriteRetryOptions()).BuildPipeline(_logger);
        _time = time ?? TimeProvider.System;
        _settings = options.ToSettings();
        _transform = GmmFeatureSetting.Get(_settings.FeatureSetting).Transform;
        _reference = reference?.Where(r => IsFinite(r.First, r.Second)).ToArray();
        if (_reference is { Count: 0 })
            throw new ArgumentException("the labelling reference has no scored document with finite statistics");
        // The document-level detector works with reference-anchored naming, and needs a reference big enough to calibrate.
        _noveltyReference = _settings.AnchorsOnReference && noveltyReference is { Count: >= ReferenceNovelty.MinReference }
            ? noveltyReference
            : null;
        _fitOptions = new GmmFitOptions(Components: Math.Max(1, options.Components), Restarts: options.FitRestarts,
            MaxIterations: options.MaxIterations, Seed: options.Seed);
        _reservoir = new Reservoir<ReservoirEntry>(options.ReservoirCapacity, options.Seed);
        _nextFitAt = options.WarmUpDocuments;
    }

    /// <summary>A labeller for <see cref="LabellingOptions.ScorerModel"/>: continues from the latest stored version of
    /// that model when there is one (no second warm-up), and refills the reservoir from stored statistics when
    /// <see cref="LabellingOptions.ReseedFromStoredScores"/> is set. With <paramref name="reference"/> (a clean
    /// reference's statistics, scored by the same proxy, as the pairs <see cref="GmmInputs.Of(Statistics.LossStatistics, FeatureTransform)"/> gives for the options'
    /// feature transform) and the <c>reference</c> rule, every fit's components are named from it; with
    /// <paramref name="noveltyReference"/> (the same documents' <see cref="ReferenceNovelty.Features(Statistics.LossStatistics)"/>,
    /// at least <see cref="ReferenceNovelty.MinReference"/> of them), every version also carries the document-level
    /// detector fitted against it, which then decides which documents are noisy.</summary>
    public static async Task<ReservoirLabeller> OpenAsync(NpgsqlDataSource dataSource, LabellingOptions options,
        WriteRetryOptions? retry = null, ILogger<ReservoirLabeller>? logger = null, TimeProvider? time = null,
        CancellationToken ct = default, IReadOnlyList<(double First, double Second)>? reference = null,
        IReadOnlyList<double[]>? noveltyReference = null)
    {
        var labeller = new ReservoirLabeller(dataSource, options, retry, logger, time, reference, noveltyReference);
        await labeller.LoadAsync(ct);
        return labeller;
    }

    /// <summary>Raised after a new version was stored and made current (on the thread that fitted it); e.g. to publish
    /// <see cref="GmmVersionStored.ToControlEvent"/> on the bus.</summary>
    public event Action<GmmVersionStored>? VersionStored;

    /// <inheritdoc />
    public ActiveGmm? Current => _active?.Gmm;

    /// <summary>The stored version labels come from now, or null before the first fit.</summary>
    public GmmModel? CurrentModel => _active?.Model;

    /// <summary>Documents observed (with finite statistics), including those a reseed stood for.</summary>
    public long DocumentsObserved
    {
        get
        {
            lock (_gate) return _reservoir.Seen;
        }
    }

    /// <summary>The last fit this instance stored, or null.</summary>
    public GmmVersionStored? LastFit { get; private set; }

    /// <summary>The options in force.</summary>
    public LabellingOptions Options => _options;

    /// <summary>True when the warm-up or the refit interval has passed and the next fit has not run yet.</summary>
    public bool FitDue
    {
        get
        {
            lock (_gate) return FitDueUnderLock();
        }
    }

    /// <summary>A copy of the reservoir's sample.</summary>
    public (double Mean, double Variance)[] ReservoirSample()
    {
        lock (_gate) return [.. _reservoir.Snapshot().Select(e => (e.First, e.Second))];
    }

    /// <summary>The current version's verdict on one document's (loss mean, loss variance), and that version;
    /// <see cref="DocumentVerdict.Unlabelled"/> before the first fit or for non-finite statistics.</summary>
    public DocumentVerdict Assign(double lossMean, double lossVariance)
    {
        var active = _active;
        if (active is null || !IsFinite(lossMean, lossVariance)) return DocumentVerdict.Unlabelled;
        return new DocumentVerdict(active.Gmm.Assign(lossMean, lossVariance), active.Model.Version);
    }

    /// <inheritdoc />
    /// <remarks>Rows of other scorer models and non-finite statistics are ignored. Provisional rows committed while a
    /// version already exists are queued for relabelling.</remarks>
    public void Observe(IReadOnlyList<SampleScore> committed)
    {
        bool wake;
        lock (_gate)
        {
            var active = _active;
            foreach (var row in committed)
            {
                if (row.ScorerModel != _options.ScorerModel) continue;
                var statistics = GmmInputs.FromRow(row.TokenCount, row.LossMean, row.LossVariance, row.ScoredBytes, row.CompressionRatio,
                    row.OrderGain);
                if (GmmInputs.Of(statistics, _transform) is { } pair)
                    _reservoir.Add(new ReservoirEntry(pair.First, pair.Second, ReferenceNovelty.Features(statistics)));
                // Scored before the first version became current and committed after it: the relabel scan may have passed it.
                if (row.GmmVersion is null && active is not null) _provisionalIds.Add(row.DocumentId);
            }
            wake = FitDueUnderLock() || _provisionalIds.Count > 0;
        }
        if (wake) _wake.Set();
    }

    /// <summary>Adds one document's statistics to the reservoir, as <see cref="Observe"/> does for a committed row.</summary>
    public void ObserveStatistics(double lossMean, double lossVariance)
    {
        bool due;
        lock (_gate)
        {
            if (IsFinite(lossMean, lossVariance)) _reservoir.Add(new ReservoirEntry(lossMean, lossVariance, null));
            due = FitDueUnderLock();
        }
        if (due) _wake.Set();
    }

    /// <summary>Fits, stores and relabels whenever <see cref="Observe"/> signals, until cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            _wake.Reset();
            try
            {
                await RefitIfDueAsync(ct);
                await RelabelProvisionalAsync(ct);
                await _wake.WaitAsync(TimeSpan.FromSeconds(30), ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // RelabelProvisionalAsync keeps its work queued; look again after a pause rather than spin.
                _logger.LogError(ex, "GMM labeller background work failed; trying again");
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), _time, ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Fits and stores the next version when the warm-up or the refit interval has passed, and makes it
    /// current; returns it, or null when no fit was due. A failed fit or store is logged and tried again after a tenth
    /// of the refit interval; labelling goes on with the version in use.</summary>
    public async Task<GmmVersionStored?> RefitIfDueAsync(CancellationToken ct = default)
    {
        await _working.WaitAsync(ct);
        try
        {
            ReservoirEntry[] entries;
            long observed;
            lock (_gate)
            {
                if (!FitDueUnderLock()) return null;
                entries = _reservoir.Snapshot();
                observed = _reservoir.Seen;
            }
            (double Mean, double Variance)[] sample = [.. entries.Select(e => (e.First, e.Second))];
            var previous = _active?.Model;
            GmmVersionStored stored;
            try
            {
                var fit = await Task.Run(() => ReservoirFit.Run(sample, _settings, _fitOptions, previous?.Parameters), ct);
                var labelMap = MixtureLabelling.Name(fit.Fit, fit.Features, fit.Bics, _reference, _settings).LabelMap;
                var streamFeatures = entries.Select(e => e.Novelty).OfType<double[]>().ToArray();
                var novelty = _noveltyReference is not null && streamFeatures.Length > 0
                    ? ReferenceNovelty.Fit(_noveltyReference, streamFeatures, _options.Seed).Parameters
                    : null;
                // PostgreSQL keeps microseconds; so does the model in memory, and a reload equals it.
                var now = _time.GetUtcNow();
                var fittedAt = now.AddTicks(-(now.UtcTicks % TimeSpan.TicksPerMicrosecond));
                var model = await _retry.ExecuteAsync(async token => await _ledger.SaveNextAsync(version =>
                    new GmmModel(version, _options.ScorerModel, fit.Fit.Parameters, labelMap, sample.Length, fit.Fit.MeanLogLikelihood,
                        fittedAt, novelty), token), ct);
                stored = new GmmVersionStored(model, fit.WarmStarted, fit.Fit.Iterations, fit.Fit.Converged, observed);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                lock (_gate) _nextFitAt = _reservoir.Seen + Math.Max(1, _options.RefitEveryDocuments / 10);
                _logger.LogError(ex, "GMM fit on {Samples} statistics of {ScorerModel} failed; labelling continues with version {Version}",
                    sample.Length, _options.ScorerModel, previous?.Version.ToString() ?? "none (provisional)");
                return null;
            }

            lock (_gate)
            {
                _active = new StoredVersion(stored.Model, ActiveGmm.From(stored.Model));
                _nextFitAt = observed + _options.RefitEveryDocuments;
                // The first version: every row stored so far is provisional.
                if (previous is null) _relabelAll = true;
            }
            LastFit = stored;
            _logger.LogInformation(
                "Stored GMM version {Version} of {ScorerModel}: K = {Components} ({Labelling}), " +
                "{Samples} statistics of {Observed} documents, " +
                "{Start} start, {Iterations} EM iterations, mean log-likelihood {LogLikelihood:F4}, labels [{Labels}], {Novelty}",
                stored.Model.Version, _options.ScorerModel, stored.Model.Parameters.Components, _settings.Describe(_reference is not null),
                sample.Length, observed, stored.WarmStarted ? $"warm (from version {previous!.Version})" : "cold",
                stored.Iterations, stored.Model.LogLikelihood, string.Join(", ", stored.Model.LabelMap.Select(l => l.ToWire())),
                stored.Model.Novelty is { } n
                    ? $"noisy documents decided against {n.Reference.Length} reference documents (estimated noise share {n.NoiseShare:P1})"
                    : "noisy documents decided by component");
            VersionStored?.Invoke(stored);
            return stored;
        }
        finally
        {
            _working.Release();
        }
    }

    /// <summary>Gives stored provisional rows (gmm_version NULL) the current version's verdict: all of them after the
    /// first fit or a restart, and since then the ones <see cref="Observe"/> saw. Returns the rows changed; does nothing
    /// without a current version. Work that fails stays queued.</summary>
    public async Task<long> RelabelProvisionalAsync(CancellationToken ct = default)
    {
        await _working.WaitAsync(ct);
        try
        {
            var active = _active;
            if (active is null) return 0;
            bool all;
            string[] ids;
            lock (_gate)
            {
                all = _relabelAll;
                ids = [.. _provisionalIds];
                _relabelAll = false;
                _provisionalIds.Clear();
            }
            if (!all && ids.Length == 0) return 0;
            try
            {
                var model = active.Model;
                long changed = all
                    ? await _retry.ExecuteAsync(async t => await _provisional.RelabelAllAsync(model.ScorerModel, model.Version, active.Gmm.Assign, t), ct)
                    : 0;
                if (ids.Length > 0)
                    changed += await _retry.ExecuteAsync(async t => await _provisional.RelabelAsync(model.ScorerModel, model.Version, active.Gmm.Assign, ids, t), ct);
                if (changed > 0)
                    _logger.LogInformation("Relabelled {Rows} provisional scores of {ScorerModel} with GMM version {Version}", changed, model.ScorerModel, model.Version);
                return changed;
            }
            catch
            {
                lock (_gate)
                {
                    _relabelAll |= all;
                    _provisionalIds.UnionWith(ids);
                }
                throw;
            }
        }
        finally
        {
            _working.Release();
        }
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        var latest = await _retry.ExecuteAsync(async token => await _ledger.LatestAsync(_options.ScorerModel, token), ct);
        long population = 0;
        if (_options.ReseedFromStoredScores)
        {
            var (sample, stored) = await _retry.ExecuteAsync(async token =>
                await _ledger.SampleStatisticsAsync(_options.ScorerModel, _options.ReservoirCapacity, _options.Seed, token), ct);
            var pairs = sample
                .Select(r => GmmInputs.Of(r, _transform) is { } p
                    ? new ReservoirEntry(p.First, p.Second, ReferenceNovelty.Features(r))
                    : (ReservoirEntry?)null)
                .OfType<ReservoirEntry>().ToList();
            lock (_gate) _reservoir.Reseed(pairs, stored);
            population = stored;
        }
        lock (_gate)
        {
            if (latest is not null)
            {
                _active = new StoredVersion(latest, ActiveGmm.From(latest));
                // A previous run may have stopped before relabelling its provisional rows.
                _relabelAll = true;
            }
            _nextFitAt = latest is null ? _options.WarmUpDocuments : population + _options.RefitEveryDocuments;
        }
        if (latest is not null || FitDue) _wake.Set();
        _logger.LogInformation("GMM labeller for {ScorerModel}: {State}; reservoir reseeded with {Sample} of {Stored} stored statistics",
            _options.ScorerModel, latest is null ? $"warming up ({_options.WarmUpDocuments} documents)" : $"continuing with stored version {latest.Version}",
            Math.Min(population, _options.ReservoirCapacity), population);
    }

    private bool FitDueUnderLock() => _reservoir.Seen >= _nextFitAt && _reservoir.Count >= _settings.SmallestComponents;

    private static bool IsFinite(double mean, double variance) => double.IsFinite(mean) && double.IsFinite(variance) && variance >= 0;
}
