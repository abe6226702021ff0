namespace Reweighting.Cli.Demo;

/// <summary>What `reweight demo` runs: corpus, proxy, scoring, the two training runs, and where it keeps its files.</summary>
internal sealed record DemoSettings
{
    /// <summary>A corpus to stream instead of the generated one (any format the corpus reader takes, with optional
    /// "label"/"noise_type" ground truth).</summary>
    public string? Corpus { get; init; }

    /// <summary>How the fields of <see cref="Corpus"/> are named (--text-field, --id-field, --domain-field).</summary>
    public Reweighting.Text.Corpus.CorpusReaderOptions CorpusFields { get; init; } = Reweighting.Text.Corpus.CorpusReaderOptions.Default;

    /// <summary>Documents of the generated sample corpus.</summary>
    public int Documents { get; init; } = 2000;

    /// <summary>Share of the generated corpus replaced by labelled noise.</summary>
    public double Noise { get; init; } = 0.2;

    /// <summary>Seed of the corpus, the noise, the models and the data order.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>A proxy checkpoint to score with instead of training one.</summary>
    public string? Proxy { get; init; }

    /// <summary>Optimiser steps of the proxy trained when none is given.</summary>
    public int ProxySteps { get; init; } = Commands.ProxyDefaults.Steps;

    /// <summary>Optimiser steps of each of the two training runs (fewer when the stream holds fewer tokens).</summary>
    public int TrainSteps { get; init; } = 250;

    /// <summary>The weighted run's strategy (the other run is uniform).</summary>
    public string Strategy { get; init; } = "meta-em";

    /// <summary>Where the corpus, the proxy, the validation file and the checkpoints go.</summary>
    public string OutDirectory { get; init; } = ".data/demo";

    /// <summary>A PostgreSQL connection string; null: a private embedded cluster in <see cref="PgData"/>, recreated for each run.</summary>
    public string? Database { get; init; }

    /// <summary>Data directory of the private cluster.</summary>
    public string PgData { get; init; } = ".data/demo-pg";

    /// <summary>cpu or cuda[:n].</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Serve the scorer's and the trainer's live dashboards while their stages run.</summary>
    public bool Dashboard { get; init; } = true;

    /// <summary>Show the services' logs.</summary>
    public bool Verbose { get; init; }

    /// <summary>How the scorer's GMM is fitted and named: the shared defaults of the service and the evaluation
    /// (<see cref="Gmm.LabellingDefaults"/>); the reference is the demo's held-out clean reference
    /// (<see cref="ReferenceEvery"/>).</summary>
    public Gmm.LabellingSettings Labelling { get; init; } = Gmm.LabellingDefaults.Settings;

    /// <summary>Sequences per training step (proxy and main runs).</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Tokens per training sequence.</summary>
    public int SequenceLength { get; init; } = 64;

    /// <summary>Vocabulary of the tokenizer trained when no proxy is given.</summary>
    public int VocabSize { get; init; } = 2048;

    /// <summary>One validation document in this many (by a hash of the id) is held out of the stream; noisy ones are dropped.</summary>
    public int HeldOutEvery { get; init; } = 10;

    /// <summary>One document in this many of the rest (by a salted hash of the id) is held out as the clean reference: the
    /// proxy's training text and the labels' anchor; noisy ones are dropped.</summary>
    public int ReferenceEvery { get; init; } = 7;

    /// <summary>Appended to an id before hashing it for the reference, so the reference is drawn independently of the
    /// validation split.</summary>
    public const string ReferenceSalt = "#reference";

    /// <summary>How long scoring may take (its units: tokens of the stream).</summary>
    public StageBound ScoringBound { get; init; } = StageBound.Scoring;

    /// <summary>How long each training run may take (its units: steps).</summary>
    public StageBound TrainingBound { get; init; } = StageBound.Training;

    /// <summary>Adds to the control bus of every stage (tests delay or drop its delivery, or delay its start).</summary>
    public Action<MassTransit.IBusRegistrationConfigurator>? ControlBus { get; init; }

    /// <summary>Where the demo puts a document of its corpus, by a hash of its id: the validation set, the reference, or
    /// the stream (noisy documents of the first two are then dropped).</summary>
    public DemoPart PartOf(string id) =>
        Commands.CorpusLoading.IsHeldOut(id, HeldOutEvery) ? DemoPart.Validation
        : Commands.CorpusLoading.IsHeldOut(id + ReferenceSalt, ReferenceEvery) ? DemoPart.Reference
        : DemoPart.Stream;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public DemoSettings Validate()
    {
        if (Corpus is not null && !Reweighting.Text.Corpus.CorpusReader.Exists(Corpus))
            throw new ArgumentException($"--corpus {Corpus} does not exist");
        if (Proxy is not null && !Directory.Exists(Proxy)) throw new ArgumentException($"--proxy {Proxy} is not a checkpoint directory");
        if (Documents < 50) throw new ArgumentException($"--documents must be at least 50, not {Documents}");
        if (Noise is < 0 or >= 1 || double.IsNaN(Noise)) throw new ArgumentException($"--noise must be in [0, 1), not {Noise}");
        if (ProxySteps < 1) throw new ArgumentException($"--proxy-steps must be positive, not {ProxySteps}");
        if (TrainSteps < 1) throw new ArgumentException($"--steps must be positive, not {TrainSteps}");
        if (!Strategies.StrategyCatalogue.WeightedNames.Contains(Strategy))
            throw new ArgumentException($"--strategy must be one of {string.Join(", ", Strategies.StrategyCatalogue.WeightedNames)}, not {Strategy}");
        if (HeldOutEvery < 2) throw new ArgumentException("held-out share must leave documents to train on");
        if (ReferenceEvery < 2) throw new ArgumentException("the reference share must leave documents to stream");
        Labelling.Validate();
        if (Labelling.Components > 16)
            throw new ArgumentException($"--components must be 0 (by BIC) or at most 16, not {Labelling.Components}");
        Torch.Device.Parse(Device);
        return this;
    }
}

/// <summary>The three disjoint parts of the demo's corpus (<see cref="DemoSettings.PartOf"/>).</summary>
internal enum DemoPart
{
    /// <summary>Streamed through Kafka, scored and trained on.</summary>
    Stream,

    /// <summary>The trainer's clean validation set (meta-em's too).</summary>
    Validation,

    /// <summary>The clean reference: the proxy's training text and the labels' anchor.</summary>
    Reference,
}
