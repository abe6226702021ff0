using Microsoft.Extensions.Logging;
using Reweighting.Contracts;
using Reweighting.Contracts.Batches;
using Reweighting.Gmm;
using Reweighting.MetaEm;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Objectives;
using Reweighting.Torch.Distributed;
using Reweighting.Trainer.Streaming;

namespace Reweighting.Trainer;

/// <summary>Sets up the strategy's objective before the first step: resolves the GMM meta-em and cluster-heuristic weigh
/// with (the scorer's stored version, else one fitted on a warm-up reservoir of the stream's statistics), freezes the
/// validation set meta-em meta-learns on, and builds the objective from the catalogue's descriptor.</summary>
public sealed class ObjectiveSetup
{
    // The fewest statistics an idle stream may fit the GMM on (a few per component of the default three).
    private const int MinimumGmmSample = 12;

    // Distinct meta-update validation batches the stream's validation set must hold before meta-em starts on it.
    private const int MetaValidationBatches = 8;

    private readonly TrainerOptions _options;
    private readonly ValidationSet _validation;
    private readonly bool _validationFromStream;
    private readonly ISampleStatisticsSource _statistics;
    private readonly Action<PhiUpdate> _phiUpdated;
    private readonly ILogger _logger;
    private readonly ProcessGroup? _group;
    private readonly List<(double Mean, double Variance)> _reservoir = [];
    // Documents of the reservoir the scorer labelled with a GMM version and did not call noisy: the clean side its
    // labels draw, which names the trainer's own GMM's components (ReferenceAnchoring).
    private readonly List<(double Mean, double Variance)> _labelledClean = [];
    private int? _newestGmmVersion;
    private string? _scorerModel;
    private bool _gmmLookedUp;

    /// <param name="options">The trainer's settings (strategy, GMM, validation).</param>
    /// <param name="validation">The validation set meta-em meta-learns on, frozen when the objective is built.</param>
    /// <param name="validationFromStream">Whether that set fills from the stream (else it came whole from a file).</param>
    /// <param name="statistics">Where meta-em and cluster-heuristic find each sequence's scorer statistics.</param>
    /// <param name="phiUpdated">Called with every meta-update of phi.</param>
    /// <param name="logger">Where the GMM's origin and meta-em's settings are logged.</param>
    /// <param name="group">The data-parallel group the objective weighs the global batch over (null: one process).</param>
    public ObjectiveSetup(TrainerOptions options, ValidationSet validation, bool validationFromStream, ISampleStatisticsSource statistics,
        Action<PhiUpdate> phiUpdated, ILogger logger, ProcessGroup? group = null)
    {
        this._group = group;
        this._options = options;
        this._validation = validation;
        this._validationFromStream = validationFromStream;
        this._statistics = statistics;
        this._phiUpdated = phiUpdated;
        this._logger = logger;
    }

    /// <summary>Looks up the scorer's stored GMM of a version; null: the trainer fits its own.</summary>
    public Func<int, CancellationToken, Task<GmmModel?>>? GmmLookup { get; set; }

    /// <summary>token-masked's reference model (the proxy), on the training device.</summary>
    public GptModel? Reference { get; set; }

    /// <summary>The objective, once set up.</summary>
    public ITrainingObjective? Objective { get; private set; }

    /// <summary>The GMM meta-em or cluster-heuristic weighs with, once resolved (or restored from a checkpoint).</summary>
    public GmmModel? Gmm { get; private set; }

    /// <summary>The stored GMM version to weigh with: the configured one, else the newest the scorer labelled with so far.</summary>
    private int? WantedGmmVersion => _options.GmmVersion ?? _newestGmmVersion;

    /// <summary>Notes what an accepted batch tells the set-up: the GMM version the scorer labelled it with, the scorer
    /// model, and (until the objective exists) its packed documents' statistics for the warm-up reservoir, and which of
    /// them the scorer's labels keep (a batch labelled before the scorer's first GMM version carries no labels yet).</summary>
    public void Observe(ScoredBatch batch, IReadOnlyList<(double Mean, double Variance, bool Noisy)> packedStatistics)
    {
        // The newest GMM the scorer labelled with is the one to start from.
        if (batch.GmmVersion is { } version && !(_newestGmmVersion >= version)) _newestGmmVersion = version;
        _scorerModel ??= batch.ScorerModel;
        if (Objective is not null) return;
        foreach (var s in packedStatistics)
        {
            if (_reservoir.Count < _options.GmmSample) _reservoir.Add((s.Mean, s.Variance));
            if (batch.GmmVersion is not null && !s.Noisy && _labelledClean.Count < _options.GmmSample)
                _labelledClean.Add((s.Mean, s.Variance));
        }
    }

    /// <summary>Restores the GMM a checkpoint holds (before <see cref="TrySetUpAsync"/> rebuilds the objective on it).</summary>
    public void Restore(GmmModel? gmm) => Gmm = gmm;

    /// <summary>Whether the objective can be set up: meta-em and cluster-heuristic need a GMM (the scorer's, or the
    /// warm-up reservoir to fit one), meta-em a validation set. When <paramref name="idle"/> (the stream went quiet, or
    /// the read-ahead is full), what there is must do.</summary>
    public bool Ready(bool idle)
    {
        if (_options.NeedsGmm && Gmm is null && !(GmmLookup is not null && WantedGmmVersion is not null && !_gmmLookedUp))
        {
            var enough = _reservoir.Count >= _options.GmmSample || (idle && _reservoir.Count >= MinimumGmmSample);
            if (!enough) return false;
        }
        if (_options.NeedsValidation && _validationFromStream && !_validation.IsComplete)
        {
            // meta-em freezes the set when it starts: wait for enough distinct validation batches, not for a full set.
            var tokens = _validation.TokenCount + _validation.Documents.Count; // with an end-of-text token each
            var enough = tokens >= MetaValidationBatches * (long)_options.MetaValidationBatch * _options.Training.SequenceLength + 1
                         || (idle && tokens >= _options.Training.SequenceLength + 1);
            if (!enough) return false;
        }
        return true;
    }

    /// <summary>Builds the objective. Not <c>Built</c> when the scorer's GMM turned out not to be stored and the reservoir
    /// is too small to fit one yet; <c>InitialPhi</c> is meta-em's phi when it starts from a GMM resolved just now (to
    /// record), else null.</summary>
    public async Task<(bool Built, ClusterPhi? InitialPhi)> TrySetUpAsync(bool idle, CancellationToken ct)
    {
        var newGmm = false;
        if (_options.NeedsGmm && Gmm is null)
        {
            if (GmmLookup is not null && WantedGmmVersion is { } version && !_gmmLookedUp)
            {
                _gmmLookedUp = true;
                Gmm = await GmmLookup(version, ct);
                if (Gmm is not null && Gmm.Parameters.Transform == FeatureTransform.PerByte && _options.GmmVersion is null)
                {
                    // The scorer labels with a GMM over (loss per byte, bytes per token); meta-em's phi and the cluster
                    // heuristic are defined on (loss mean, loss variance), so the trainer fits its own below.
                    _logger.LogInformation("{Strategy}: the scorer's GMM version {Version} is fitted per byte; fitting one on (loss mean, variance)",
                        _options.Strategy, version);
                    Gmm = null;
                }
                if (Gmm is not null) _logger.LogInformation("{Strategy} weighs with the scorer's GMM version {Version}", _options.Strategy, version);
            }
            if (Gmm is null)
            {
                if (_reservoir.Count < (idle ? MinimumGmmSample : _options.GmmSample)) return (false, null);
                Gmm = StrategyObjectives.FitGmm(_reservoir, _options.GmmFeatures, _options.LabelRule, _options.Training.Seed, _scorerModel ?? "unknown",
                    _options.GmmComponents);
                var named = _labelledClean.Count >= MinimumGmmSample;
                // The scorer's labels are anchored on its clean reference: the documents they keep show which of this
                // GMM's components clean text fills, and meta-em's phi starts from those alone (noise near weight 0).
                if (named) Gmm = Gmm with { LabelMap = ReferenceAnchoring.MapStatistics(Gmm.Parameters, _labelledClean) };
                _logger.LogInformation(
                    "{Strategy}: fitted a GMM on the statistics of {Count} documents, its components named {Naming}: {Components}",
                    _options.Strategy, _reservoir.Count,
                    named ? $"from the {_labelledClean.Count} the scorer's labels keep"
                        : $"by {_options.LabelRule} (no labelled documents yet)",
                    Gmm.DescribeComponents());
            }
            newGmm = true;
        }
        TokenStream? validationStream = null;
        if (_options.NeedsValidation)
        {
            _validation.Freeze();
            validationStream = _validation.ToTokenStream(_options.EndOfTextToken, _options.Training.SequenceLength, _options.Training.Seed);
        }
        // meta-em starts from the components the GMM's labels do not call noisy: the scorer's own version carries its
        // labels, and one fitted here is named from the documents the scorer's labels keep.
        Objective = StrategyObjectives.Create(_options.Strategy, _options.StrategyParameters with { PhiFromCleanComponents = true },
            _options.Training.Steps, _statistics, Gmm, validationStream, Reference, phiUpdated: _phiUpdated, group: _group);
        _reservoir.Clear();
        _labelledClean.Clear();
        var meta = Objective as MetaEmObjective;
        if (meta is not null) _logger.LogInformation("meta-em: {Settings}", _options.Meta.Describe(Torch.Device.Parse(_options.Training.Device).Type));
        return (true, newGmm ? meta?.Strategy.Phi : null);
    }
}
