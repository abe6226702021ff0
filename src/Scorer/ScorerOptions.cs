using Reweighting.Contracts;
using Reweighting.Contracts.Documents;
using Reweighting.Modeling.Scoring;
using Reweighting.Scorer.Labelling;
using Reweighting.Scorer.Outbox;
using Reweighting.Storage.Writing;

namespace Reweighting.Scorer;

/// <summary>Settings of the scorer service, bound from the configuration section <c>Scorer</c> (appsettings.json,
/// environment variables such as <c>Scorer__TokenBudget</c>, or <c>--Scorer:TokenBudget</c> on the command line) and
/// validated at start-up.</summary>
public sealed record ScorerOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Scorer";

    /// <summary>Kafka bootstrap servers (ignored on the in-process broker).</summary>
    public string BootstrapServers { get; init; } = "localhost:9092";

    /// <summary>Consumer group of the scorers; offsets are stored in PostgreSQL under this name.</summary>
    public string GroupId { get; init; } = "reweight-scorer";

    /// <summary>Topic of input documents.</summary>
    public string Topic { get; init; } = Topics.Documents;

    /// <summary>Topic rejected records go to, with their reason.</summary>
    public string DeadLetterTopic { get; init; } = Topics.DocumentsDeadLetter;

    /// <summary>This instance's name in DLQ records and logs; defaults to host name and process id.</summary>
    public string InstanceId { get; init; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>Checkpoint directory of the proxy model, with its tokenizer files.</summary>
    public string ModelDirectory { get; init; } = "";

    /// <summary>Id of the proxy model in score rows and scored batches; defaults to the checkpoint directory's name.</summary>
    public string? ModelId { get; init; }

    /// <summary>Where the proxy runs: <c>auto</c> (CUDA when present), <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Padded tokens (windows × longest window) the proxy scores per forward pass; windows are sorted by
    /// length first so short documents share batches with short ones.</summary>
    public int WindowTokenBudget { get; init; } = 16_384;

    /// <summary>Most windows per forward pass, or null for as many as <see cref="WindowTokenBudget"/> allows.</summary>
    public int? WindowBatchSize { get; init; }

    /// <summary>A micro-batch is scored and stored once its documents hold this many tokens.</summary>
    public int TokenBudget { get; init; } = 32_768;

    /// <summary>... or once it holds this many records (documents and dead letters) ...</summary>
    public int MaxBatchRecords { get; init; } = 2_048;

    /// <summary>... or once its first record has waited this long.</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Also close the batch being filled when a poll finds no new record (the consumer has caught up) while the
    /// proxy has nothing to score: a slow stream or the end of a backlog is scored at once instead of after
    /// <see cref="MaxWait"/>, and under load batches still fill to their budget. False waits for the budget, the record
    /// count or <see cref="MaxWait"/>.</summary>
    public bool CloseWhenCaughtUp { get; init; } = true;

    /// <summary>Closed micro-batches being scored, or scored and waiting to be stored, before the loop stores the oldest
    /// rather than read on. At 2 the next batch is read and tokenised while the proxy scores the current one; 1 scores
    /// and stores each batch before reading the next record.</summary>
    public int MaxBatchesInFlight { get; init; } = 2;

    /// <summary>How long a stop (SIGTERM) may spend scoring and storing the batches in flight before abandoning them.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest single Kafka poll: bounds how late a stop or a full batch is noticed.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>First wait between tries while PostgreSQL is unreachable; doubles up to <see cref="OutageMaxDelay"/>.</summary>
    public TimeSpan OutageBaseDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Longest wait between tries while PostgreSQL is unreachable.</summary>
    public TimeSpan OutageMaxDelay { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How often progress (documents/s, tokens/s, batch latency) is logged.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Put <c>&lt;|endoftext|&gt;</c> before every document, as the proxy saw documents in training, so the
    /// first token is scored too.</summary>
    public bool PrependEndOfText { get; init; } = true;

    /// <summary>Characters of each document's snippet in the store.</summary>
    public int SnippetChars { get; init; } = 200;

    /// <summary>Whether the store keeps each document's full text.</summary>
    public bool KeepText { get; init; }

    /// <summary>Limits a document record must meet; larger ones are dead-lettered.</summary>
    public DocumentLimits DocumentLimits { get; init; } = new();

    /// <summary>Retries of one batch write on transient database failures (the outage handling comes after them).</summary>
    public WriteRetryOptions WriteRetry { get; init; } = new() { MaxRetries = 3 };

    /// <summary>How the GMM that labels documents is fitted (warm-up, refit interval, reservoir, K, label rule); its
    /// ScorerModel is this scorer's model id.</summary>
    public LabellingOptions Labelling { get; init; } = new();

    /// <summary>How the outbox relay publishes scored batches to <c>scored-batches</c>.</summary>
    public OutboxRelayOptions Outbox { get; init; } = new();

    /// <summary>Database connection string; empty: REWEIGHT_DB, the PG* variables, or the embedded cluster.</summary>
    public string? Database { get; init; }

    /// <summary>Extra librdkafka settings of the consumer (security, timeouts), applied over the defaults.</summary>
    public Dictionary<string, string> Consumer { get; init; } = [];

    /// <summary>Extra librdkafka settings of the DLQ producer.</summary>
    public Dictionary<string, string> Producer { get; init; } = [];

    /// <summary>The scorer model id: <see cref="ModelId"/>, or the checkpoint directory's name.</summary>
    public string EffectiveModelId =>
        ModelId is { Length: > 0 } id ? id : Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(ModelDirectory.Length > 0 ? ModelDirectory : ".")));

    /// <summary>How the proxy packs windows into forward passes.</summary>
    public ScoringBatches WindowBatches => new() { TokenBudget = WindowTokenBudget, MaxRows = WindowBatchSize };

    /// <summary>The first invalid setting, or null when all are valid.</summary>
    public string? Problem()
    {
        if (string.IsNullOrWhiteSpace(GroupId)) return "Scorer:GroupId is empty";
        if (string.IsNullOrWhiteSpace(Topic)) return "Scorer:Topic is empty";
        if (string.IsNullOrWhiteSpace(DeadLetterTopic)) return "Scorer:DeadLetterTopic is empty";
        if (Topic == DeadLetterTopic) return "Scorer:DeadLetterTopic must differ from Scorer:Topic";
        if (WindowTokenBudget < 1) return $"Scorer:WindowTokenBudget must be positive, not {WindowTokenBudget}";
        if (WindowBatchSize is < 1) return $"Scorer:WindowBatchSize must be positive, not {WindowBatchSize}";
        if (TokenBudget < 1) return $"Scorer:TokenBudget must be positive, not {TokenBudget}";
        if (MaxBatchRecords < 1) return $"Scorer:MaxBatchRecords must be positive, not {MaxBatchRecords}";
        if (MaxWait <= TimeSpan.Zero) return $"Scorer:MaxWait must be positive, not {MaxWait}";
        if (MaxBatchesInFlight < 1) return $"Scorer:MaxBatchesInFlight must be at least 1, not {MaxBatchesInFlight}";
        if (DrainTimeout < TimeSpan.Zero) return $"Scorer:DrainTimeout must not be negative, not {DrainTimeout}";
        if (PollInterval <= TimeSpan.Zero) return $"Scorer:PollInterval must be positive, not {PollInterval}";
        if (OutageBaseDelay <= TimeSpan.Zero || OutageMaxDelay < OutageBaseDelay)
            return "Scorer:OutageBaseDelay must be positive and at most Scorer:OutageMaxDelay";
        if (ProgressInterval <= TimeSpan.Zero) return $"Scorer:ProgressInterval must be positive, not {ProgressInterval}";
        if (SnippetChars < 0) return $"Scorer:SnippetChars must not be negative, not {SnippetChars}";
        if (Device != "auto")
        {
            try
            {
                Torch.Device.Parse(Device);
            }
            catch (FormatException e)
            {
                return $"Scorer:Device: {e.Message} (or auto)";
            }
        }
        try
        {
            (Labelling with { ScorerModel = EffectiveModelId }).Validate();
        }
        catch (ArgumentException e)
        {
            return $"Scorer:Labelling: {e.Message}";
        }
        try
        {
            Outbox.Validate();
        }
        catch (ArgumentException e)
        {
            return $"Scorer:Outbox: {e.Message}";
        }
        try
        {
            DocumentLimits.Validate();
        }
        catch (ArgumentOutOfRangeException e)
        {
            return $"Scorer:DocumentLimits: {e.Message}";
        }
        return null;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public ScorerOptions Validate() => Problem() is { } p ? throw new ArgumentException(p) : this;

    /// <summary>The device <see cref="Device"/> names; <c>auto</c> is CUDA when a device is present.</summary>
    public Torch.Device ResolveDevice() =>
        Device == "auto" ? (Torch.Torch.Cuda.IsAvailable ? Torch.Device.Cuda() : Torch.Device.Cpu) : Torch.Device.Parse(Device);
}
