using Reweighting.Contracts;
using Reweighting.Gmm;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Strategies;
using Reweighting.MetaEm;
using Reweighting.Objectives;

namespace Reweighting.Trainer;

/// <summary>Settings of the trainer service, bound from the configuration section "Trainer", validated at start-up and
/// saved with every checkpoint.</summary>
public sealed record TrainerOptions
{
    /// <summary>Configuration section the worker binds.</summary>
    public const string Section = "Trainer";

    /// <summary>The run's id in PostgreSQL (training_runs); default: a new id. A resumed run keeps its checkpoint's id.</summary>
    public string? RunId { get; init; }

    /// <summary>Weighting strategy, one of <see cref="StrategyCatalogue.Names"/>.</summary>
    public string Strategy { get; init; } = "uniform";

    /// <summary>Model preset of a new run (<see cref="GptConfig.Preset"/>); a resumed run uses its checkpoint's.</summary>
    public string ModelPreset { get; init; } = "tiny";

    /// <summary>Vocabulary size of a new run's model (GPT-2's by default).</summary>
    public int VocabSize { get; init; } = 50257;

    /// <summary>Optimiser, schedule, batch shape, evaluation and checkpoint intervals (Steps is the run's length).</summary>
    public TrainingOptions Training { get; init; } = new();

    /// <summary>Checkpoint directory: written atomically every Training.CheckpointEvery steps and on shutdown; a run
    /// resumes from it when it exists.</summary>
    public string CheckpointDirectory { get; init; } = "checkpoints/trainer";

    /// <summary>A file the run appends one JSON line to per optimiser step (rank 0 under data parallelism): step, loss (the
    /// global batch's), lr, grad_norm, tokens_per_s, collective_s (time in gradient averaging so far), sync_s (time rank 0
    /// spent passing the stream on to the other ranks so far), valid_loss on evaluation steps. Null: none.</summary>
    public string? StepLog { get; init; }

    /// <summary>Topic of the scored batches.</summary>
    public string Topic { get; init; } = Topics.ScoredBatches;

    /// <summary>Topic that scored batches the trainer cannot train on (undecodable, or holding tokens outside the model's
    /// vocabulary) are dead-lettered to, with their reason.</summary>
    public string DeadLetterTopic { get; init; } = Topics.ScoredBatchesDeadLetter;

    /// <summary>Consumer group the consumed offsets are committed under after each checkpoint (for lag monitoring; the
    /// checkpoint, not the group, is where a restart resumes).</summary>
    public string ConsumerGroup { get; init; } = "trainer";

    /// <summary>Token that separates documents when packing (GPT-2's &lt;|endoftext|&gt; by default), put before each
    /// document that does not already start with it.</summary>
    public int EndOfTextToken { get; init; } = 50256;

    /// <summary>Tokens each scored window repeats from the previous one (the scorer's windows overlap by one: a window's
    /// first token is the previous window's last target); 0 for producers that cut disjoint windows.</summary>
    public int WindowOverlap { get; init; } = 1;

    /// <summary>Batch ids remembered to skip resent batches.</summary>
    public int DeduplicationWindow { get; init; } = 65_536;

    /// <summary>How long one poll of Kafka waits.</summary>
    public TimeSpan PollTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Stop (with a checkpoint) after the stream has been idle this long; null: wait for data forever.</summary>
    public TimeSpan? StopWhenIdleFor { get; init; }

    /// <summary>A clean validation file: JSON lines, each an array of token ids or {"tokens": [...], "domain": ...}.</summary>
    public string? ValidationFile { get; init; }

    /// <summary>Share of the stream's documents held out for validation by <see cref="Streaming.ValidationSplit"/>
    /// (0: none; used when there is no validation file). Held-out documents are never trained on.</summary>
    public double ValidationFraction { get; init; }

    /// <summary>Held-out documents kept from the stream; the set is fixed once full.</summary>
    public int ValidationDocuments { get; init; } = 256;

    /// <summary>Leave documents the scorer labelled noisy out of the stream's validation set, so it stays clean.</summary>
    public bool ValidationExcludesNoisy { get; init; } = true;

    /// <summary>Train only on documents the scorer did not label noisy: filtering with the labels, in the service (the
    /// <c>filter</c> arm of <c>eval reweighting</c>). With <see cref="GmmVersion"/>, each document is judged by that stored
    /// version (as the store labels it after relabelling); without, by the label it was scored with, so a document scored
    /// provisionally, before the scorer's first GMM version, is trained on.</summary>
    public bool SkipNoisy { get; init; }

    /// <summary>Sow et al.'s final temperature r.</summary>
    public double Temperature { get; init; } = 0.4;

    /// <summary>Sow et al.'s uniform burn-in steps.</summary>
    public int BurnIn { get; init; }

    /// <summary>Sow et al.'s annealing steps (default: half the run).</summary>
    public int? AnnealSteps { get; init; }

    /// <summary>Meta-EM meta learning rate (Adam-normalised).</summary>
    public double MetaLearningRate { get; init; } = 0.02;

    /// <summary>Meta-EM's narrowest kernel width (<see cref="MetaEmOptions.MinWidth"/>): null keeps the kernels at least
    /// as wide as they start, 0 lets the meta-update narrow them without bound.</summary>
    public double? MetaMinWidth { get; init; }

    /// <summary>Meta-update every this many steps.</summary>
    public int MetaUpdateEvery { get; init; } = 1;

    /// <summary>Steps before the first meta-update.</summary>
    public long MetaBurnIn { get; init; }

    /// <summary>Validation sequences per meta-update.</summary>
    public int MetaValidationBatch { get; init; } = 8;

    /// <summary>How the meta-gradient's per-sample alignments are computed: auto, forward, differences or exact
    /// (<see cref="MetaGradientMethod"/>).</summary>
    public string MetaGradient { get; init; } = "auto";

    /// <summary>Sequences of each micro-batch the meta-gradient is estimated from (a random subset; null: all).</summary>
    public int? MetaSequences { get; init; }

    /// <summary>Token-masked: share of highest-loss tokens trained by MLE.</summary>
    public double TopFraction { get; init; } = 0.25;

    /// <summary>Token-masked: the reference model's checkpoint (the proxy).</summary>
    public string? ReferenceCheckpoint { get; init; }

    /// <summary>meta-em/cluster-heuristic: documents whose statistics fit the GMM when the scorer's GMM version is not
    /// stored (the trainer's warm-up reservoir, read ahead before the first step).</summary>
    public int GmmSample { get; init; } = 512;

    /// <summary>meta-em/cluster-heuristic: the stored GMM version (gmm_models) to weigh with; null: the newest version
    /// named by the scored batches read before the first step.</summary>
    public int? GmmVersion { get; init; }

    /// <summary>Feature map of a GMM the trainer fits itself.</summary>
    public string GmmFeatures { get; init; } = GmmFeatureSetting.Default.Name;

    /// <summary>K of a GMM the trainer fits itself; 0: chosen by BIC, as the scorer chooses its own.</summary>
    public int GmmComponents { get; init; } = StrategyObjectives.DefaultGmmComponents;

    /// <summary>Label rule of a GMM the trainer fits itself.</summary>
    public string LabelRule { get; init; } = LabelRules.Default.Name;

    /// <summary>What the strategy needs and does (null for an unknown name, which <see cref="Validate"/> refuses).</summary>
    public StrategyDescriptor? Descriptor => StrategyCatalogue.Find(Strategy);

    /// <summary>Whether the strategy weighs the scorer's statistics under a GMM.</summary>
    public bool NeedsGmm => Descriptor?.NeedsGmm == true;

    /// <summary>Whether the strategy needs a clean validation stream of its own.</summary>
    public bool NeedsValidation => Descriptor?.NeedsValidation == true;

    /// <summary>The meta-update settings.</summary>
    public StrategyParameters StrategyParameters => new(Temperature, BurnIn, AnnealSteps, TopFraction, Meta);

    public MetaEmOptions Meta => new(MetaLearningRate, MetaUpdateEvery, MetaGradientMethods.Parse(MetaGradient), BurnInSteps: MetaBurnIn,
        ValidationBatch: MetaValidationBatch, Sequences: MetaSequences, MinWidth: MetaMinWidth);

    /// <summary>Checks every setting; throws naming the first bad one.</summary>
    public TrainerOptions Validate()
    {
        Training.Validate();
        if (Descriptor is null) throw new ArgumentException($"Trainer:Strategy '{Strategy}' is unknown (known: {string.Join(", ", StrategyCatalogue.Names)})");
        if (string.IsNullOrWhiteSpace(CheckpointDirectory)) throw new ArgumentException("Trainer:CheckpointDirectory is required");
        if (string.IsNullOrWhiteSpace(Topic)) throw new ArgumentException("Trainer:Topic is required");
        if (string.IsNullOrWhiteSpace(DeadLetterTopic) || DeadLetterTopic == Topic)
            throw new ArgumentException("Trainer:DeadLetterTopic is required and must differ from Trainer:Topic");
        if (string.IsNullOrWhiteSpace(ConsumerGroup)) throw new ArgumentException("Trainer:ConsumerGroup is required");
        if (EndOfTextToken < 0) throw new ArgumentException($"Trainer:EndOfTextToken must be a token id, got {EndOfTextToken}");
        if (WindowOverlap < 0) throw new ArgumentException("Trainer:WindowOverlap must be >= 0");
        if (DeduplicationWindow < 1) throw new ArgumentException("Trainer:DeduplicationWindow must be positive");
        if (PollTimeout <= TimeSpan.Zero) throw new ArgumentException("Trainer:PollTimeout must be positive");
        if (ValidationFraction is < 0 or >= 1) throw new ArgumentException($"Trainer:ValidationFraction must be in [0, 1), got {ValidationFraction}");
        if (ValidationDocuments < 1) throw new ArgumentException("Trainer:ValidationDocuments must be positive");
        if (ValidationFile is not null && !File.Exists(ValidationFile)) throw new ArgumentException($"Trainer:ValidationFile {ValidationFile} does not exist");
        if (NeedsValidation && ValidationFile is null && ValidationFraction == 0)
            throw new ArgumentException("meta-em needs a clean validation stream: set Trainer:ValidationFile or Trainer:ValidationFraction");
        if (Descriptor.HasReferenceModel && ReferenceCheckpoint is null) throw new ArgumentException($"{Strategy} needs Trainer:ReferenceCheckpoint (the proxy)");
        if (GmmSample < 1) throw new ArgumentException("Trainer:GmmSample must be positive");
        if (GmmVersion is < 1) throw new ArgumentException($"Trainer:GmmVersion must be a stored version (1 or more), not {GmmVersion}");
        if (GmmInputs.NeedsBytes(GmmFeatureSetting.Get(GmmFeatures).Transform))
        {
            throw new ArgumentException(
                $"Trainer:GmmFeatures '{GmmFeatures}' needs per-document bytes; the trainer's GMM is fitted on (loss mean, variance)");
        }
        LabelRules.Get(LabelRule);
        if (GmmComponents < 0) throw new ArgumentException($"Trainer:GmmComponents must be 0 (chosen by BIC) or positive, not {GmmComponents}");
        if (!MetaGradientMethods.Names.Contains(MetaGradient))
            throw new ArgumentException($"Trainer:MetaGradient '{MetaGradient}' is unknown (known: {string.Join(", ", MetaGradientMethods.Names)})");
        if (MetaSequences is < 1) throw new ArgumentException($"Trainer:MetaSequences must be positive, not {MetaSequences}");
        Meta.Validate();
        new TokenMaskedOptions(TopFraction).Validate();
        return this;
    }
}
