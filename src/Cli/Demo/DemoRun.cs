using System.Diagnostics;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Reweighting.Cli.Commands;
using Reweighting.Cli.Hosting;
using Reweighting.Cli.Streaming;
using Reweighting.Contracts;
using Reweighting.Contracts.Control;
using Reweighting.Dashboard;
using Reweighting.Gmm;
using Reweighting.InProcessKafka;
using Reweighting.Messaging;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Scorer;
using Reweighting.Scorer.Labelling;
using Reweighting.Scorer.Outbox;
using Reweighting.Storage;
using Reweighting.Storage.Embedded;
using Reweighting.Storage.Models;
using Reweighting.Storage.Queries;
using Reweighting.Storage.Writing;
using Reweighting.Text.Corpus;
using Reweighting.Text.Tokenization;
using Reweighting.Trainer.Hosting;
using Reweighting.Trainer.Streaming;
using Reweighting.Torch;
using Reweighting.Trainer;

namespace Reweighting.Cli.Demo;

/// <summary>`reweight demo`, the main job on embedded defaults: a corpus (generated with injected noise, or the user's),
/// a proxy (trained briefly when none is given), the real scorer service streaming the corpus over an in-process Kafka
/// broker into PostgreSQL with GMM labels, then the real trainer service run twice on the scored batches (uniform and
/// weighted), the stages reporting on the MassTransit in-memory bus; it ends with a summary read back from PostgreSQL.</summary>
internal sealed class DemoRun(DemoSettings settings)
{
    private readonly ConsoleProgress _progress = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly string _stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss");

    // How often a stage looks at the database while it waits.
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>What the run produced, for the summary and the tests.</summary>
    internal DemoOutcome? Outcome { get; private set; }

    public async Task<int> RunAsync(CancellationToken ct)
    {
        settings.Validate();
        var outDir = Path.GetFullPath(settings.OutDirectory);
        Directory.CreateDirectory(outDir);
        Stage($"Reweighting demo: output in {outDir}");

        var corpus = PrepareCorpus(outDir);
        var tokenizer = PrepareTokenizer(outDir, corpus, ct);
        var streamTokens = CorpusLoading.Encode(tokenizer, corpus.Stream, _progress, "the stream");
        var proxyDir = settings.Proxy ?? TrainProxy(outDir, tokenizer, corpus.Reference, ct);
        var validationFile = WriteValidation(outDir, corpus, tokenizer);
        var referenceFile = WriteReference(outDir, corpus);

        await using var database = await OpenDatabaseAsync(ct);
        var kafka = new InProcessKafkaCluster();
        kafka.CreateTopic(Topics.Documents, 2);
        kafka.CreateTopic(Topics.DocumentsDeadLetter, 1);
        kafka.CreateTopic(Topics.ScoredBatches, 2);

        var records = Ingest(kafka, corpus);
        var scoring = await ScoreAsync(kafka, database.ConnectionString, proxyDir, referenceFile, records,
            streamTokens.Sum(t => (long)t.Length), ct);

        var steps = Math.Max(1, Math.Min(settings.TrainSteps, streamTokens.Sum(t => t.Length + 1L) / ((long)settings.BatchSize * settings.SequenceLength)));
        if (steps < settings.TrainSteps) Stage($"the stream holds {steps} steps of {settings.BatchSize}x{settings.SequenceLength} tokens: each run trains {steps} steps");
        var runs = new List<TrainingRunOutcome>();
        // Uniform, the weighted strategy, and the filter: uniform training on the documents the scorer did not label noisy.
        var uniformName = Strategies.StrategyCatalogue.Uniform.Name;
        (string Name, string Strategy)[] plan =
            [(uniformName, uniformName), (settings.Strategy, settings.Strategy), (FilterRun, uniformName)];
        foreach (var (name, strategy) in plan)
        {
            // The scorer's labelling GMM serves the weighting strategies only when it is fitted on (loss mean, loss variance);
            // a per-byte one is not, and the trainer fits its own.
            // The filter judges each document by the scorer's final version, as the store labels it now.
            var gmmVersion = name == FilterRun || !GmmInputs.NeedsBytes(GmmFeatureSetting.Get(settings.Labelling.FeatureSetting).Transform)
                ? scoring.LatestGmmVersion
                : null;
            runs.Add(await TrainAsync(kafka, database.ConnectionString, name, strategy, (int)steps, tokenizer, proxyDir, validationFile,
                outDir, gmmVersion, ct));
        }

        Outcome = await DemoSummary.ReadAsync(database.ConnectionString, corpus, scoring, runs, ct);
        var report = await WriteReportAsync(database.ConnectionString, outDir, ct);
        DemoSummary.Print(Outcome, settings, database.QueryHint, report, _clock.Elapsed);
        return 0;
    }

    private void Stage(string text) => _progress.Report($"[{_clock.Elapsed:mm\\:ss}] {text}", force: true);

    // ---- corpus ------------------------------------------------------------------------------------------------------

    private DemoCorpus PrepareCorpus(string outDir)
    {
        string path;
        if (settings.Corpus is null)
        {
            path = Path.Combine(outDir, "corpus.jsonl");
            var summary = CorpusCommands.WriteSample(path, settings.Documents, settings.Noise, settings.Seed);
            Stage(summary is null
                ? $"corpus: {settings.Documents:N0} generated documents, no noise"
                : $"corpus: {summary.Documents:N0} generated documents ({string.Join(", ", SampleCorpus.Domains)}), {summary.Corrupted:N0} replaced by injected noise " +
                  $"({string.Join(", ", summary.PerFamily.Select(f => $"{f.Key} {f.Value}"))})");
        }
        else
        {
            path = settings.Corpus;
            Stage($"corpus: {path}");
        }
        var fields = settings.Corpus is null ? CorpusReaderOptions.Default : settings.CorpusFields;
        var records = CorpusLoading.Read(path, fields);
        Dictionary<string, CorpusLabel>? truth = null;
        try
        {
            truth = CorpusLabels.Read(path, fields);
        }
        catch (InvalidDataException)
        {
            // No ground truth in the user's corpus: the summary leaves out the match with injected noise.
        }
        // Two disjoint held-out sets, noisy documents dropped from both (a user's clean samples): the trainer's validation
        // set, and the clean reference the proxy is trained on and the labels are anchored to. Kept apart, so no weighted
        // run is measured on text its proxy (a distillation reference) was trained on.
        var part = records.ToLookup(r => settings.PartOf(r.Id));
        bool Clean(CorpusRecord r) => truth is null || !truth.TryGetValue(r.Id, out var t) || !t.Noisy;
        var stream = part[DemoPart.Stream].ToList();
        var validation = part[DemoPart.Validation].Where(Clean).ToList();
        var reference = part[DemoPart.Reference].Where(Clean).ToList();
        if (stream.Count == 0 || validation.Count == 0 || reference.Count == 0)
            throw new InvalidDataException(
                $"the corpus of {records.Count} documents is too small to hold out a validation set and a reference");
        Stage($"{stream.Count:N0} documents to stream, {validation.Count:N0} clean ones held out for validation and {reference.Count:N0} " +
              (settings.Proxy is null
                  ? "as the clean reference (the proxy's training text and the labels' anchor)"
                  : "as the clean reference (the labels' anchor; the given proxy scores it)"));
        return new DemoCorpus(path, stream, validation, reference, truth);
    }

    // ---- proxy -------------------------------------------------------------------------------------------------------

    /// <summary>The given proxy's tokenizer, or one trained on the stream (saved beside the proxy to come). The stream, not
    /// the reference: a tokenizer fitted to the reference's own words cuts those documents into longer tokens than unseen
    /// clean text, so the reference would sit apart from the stream's clean documents (docs/label-eval/labels.md).</summary>
    private BpeTokenizer PrepareTokenizer(string outDir, DemoCorpus corpus, CancellationToken ct)
    {
        if (settings.Proxy is { } given)
        {
            Stage($"proxy: {given}");
            return BpeTokenizer.Load(given);
        }
        Stage($"training a {settings.VocabSize}-token BPE tokenizer on the stream ...");
        var tokenizer = BpeTrainer.Train(corpus.Stream.Select(r => r.Text), settings.VocabSize,
            new Progress<BpeTrainingProgress>(p => _progress.Report($"  tokenizer {p.Phase}: {p.Done}/{p.Total}")), ct);
        tokenizer.Save(Path.Combine(outDir, "tokenizer"));
        return tokenizer;
    }

    /// <summary>Trains the proxy on the clean reference with the stream's tokenizer, then its cross-fitted folds
    /// (<see cref="Commands.ProxyFolds"/>), as `proxy train --corpus reference --tokenizer ... --folds 2` does; returns its
    /// checkpoint directory. A proxy that never saw the stream
    /// cannot have learnt its noise (docs/label-eval/labels.md).</summary>
    private string TrainProxy(string outDir, BpeTokenizer tokenizer, IReadOnlyList<CorpusRecord> reference, CancellationToken ct)
    {
        var tokens = CorpusLoading.Encode(tokenizer, reference, _progress, "the reference");
        var tokenizerDir = Path.Combine(outDir, "tokenizer");
        var proxyDir = Path.Combine(outDir, $"proxy-{_stamp}");
        var options = new TrainingOptions
        {
            Steps = settings.ProxySteps, BatchSize = settings.BatchSize, SequenceLength = settings.SequenceLength,
            LearningRate = Commands.ProxyDefaults.LearningRate,
            MinLearningRate = Commands.ProxyDefaults.LearningRate / 10,
            WarmupSteps = Math.Max(1, settings.ProxySteps / 10), Device = settings.Device, Seed = (ulong)settings.Seed,
        }.Validate();
        var data = new TokenStream(tokens, tokenizer.EndOfTextId, settings.SequenceLength, options.Seed);
        using var model = new GptModel(GptConfig.Preset("tiny", tokenizer.VocabSize), options.Seed);
        model.To(Device.Parse(settings.Device));
        Stage($"training the proxy ({model.ParameterCount() / 1e6:F2}M parameters) for {options.Steps} steps on the clean reference ...");
        void Report(TrainingProgress p) =>
            _progress.Report($"  proxy step {p.Step}/{p.TotalSteps}  loss {p.Loss:F3}  {p.TokensPerSecond:F0} tok/s");
        new GptTrainer(model, data, options) { CheckpointDirectory = proxyDir, TokenizerDirectory = tokenizerDir }
            .Run(progress: Report, cancel: ct);
        ct.ThrowIfCancellationRequested();
        Commands.ProxyFolds.Train(proxyDir, model.Config, tokenizer.EndOfTextId, reference, tokens, Commands.ProxyFolds.DefaultCount,
            options, group: null, Stage, Report, ct);
        ct.ThrowIfCancellationRequested();
        Stage($"proxy saved to {proxyDir}");
        return proxyDir;
    }

    /// <summary>The held-out clean documents as the trainer's validation file (token ids and domain per line).</summary>
    private static string WriteValidation(string outDir, DemoCorpus corpus, BpeTokenizer tokenizer)
    {
        var path = Path.Combine(outDir, "validation.jsonl");
        File.WriteAllLines(path, corpus.Validation
            .Select(r => new ValidationDocument(tokenizer.Encode(r.Text), r.Domain ?? "default"))
            .Where(d => d.Tokens.Length >= 2)
            .Select(d => JsonSerializer.Serialize(d)));
        return path;
    }

    /// <summary>The clean reference as text (JSONL): the scorer scores it with the proxy (out of fold) and anchors the labels
    /// to it.</summary>
    private static string WriteReference(string outDir, DemoCorpus corpus)
    {
        var path = Path.Combine(outDir, "reference.jsonl");
        File.WriteAllLines(path, corpus.Reference.Select(r => JsonSerializer.Serialize(new { id = r.Id, text = r.Text })));
        return path;
    }

    // ---- database ----------------------------------------------------------------------------------------------------

    private async Task<DemoDatabase> OpenDatabaseAsync(CancellationToken ct)
    {
        if (settings.Database is { } given)
        {
            await using var db = await ScoreDatabase.OpenAsync(new ScoreDatabaseOptions { CommandLineConnection = given }, null, ct);
            Stage($"database: {db.Description}");
            return new DemoDatabase(given, null, "--db \"<your connection string>\"");
        }
        // A private cluster, recreated for each run so its tables hold this run only.
        var dataDir = Path.GetFullPath(settings.PgData);
        await EmbeddedPostgres.StopOrphanAsync(dataDir, ct);
        if (Directory.Exists(dataDir)) Directory.Delete(dataDir, recursive: true);
        var server = new EmbeddedPostgres(new EmbeddedPostgresOptions { DataDirectory = dataDir });
        Stage($"starting a private PostgreSQL in {dataDir} ...");
        await server.StartAsync(ct);
        await server.EnsureDatabaseAsync(new EmbeddedPostgresOptions().Database, ct);
        var connection = server.ConnectionStringFor(new EmbeddedPostgresOptions().Database);
        await using (var db = await ScoreDatabase.OpenAsync(new ScoreDatabaseOptions { CommandLineConnection = connection }, null, ct))
            Stage($"database: PostgreSQL (embedded) in {dataDir}, schema migrated");
        return new DemoDatabase(connection, server, $"REWEIGHT_PG_DATA={settings.PgData}");
    }

    // ---- scoring -----------------------------------------------------------------------------------------------------

    private long Ingest(InProcessKafkaCluster kafka, DemoCorpus corpus)
    {
        using var producer = kafka.CreateProducer<string?, byte[]>(new ProducerConfig { EnableIdempotence = true });
        var result = CorpusIngest.Run(corpus.Stream, producer, Topics.Documents);
        // Two bad records, as real streams have them: they go to the dead-letter topic with their reason.
        producer.Produce(Topics.Documents, new Message<string?, byte[]> { Key = "bad-json", Value = "{\"id\": \"bad-json\", \"text\": "u8.ToArray() });
        producer.Produce(Topics.Documents, new Message<string?, byte[]> { Key = "empty", Value = "{\"id\": \"empty\", \"text\": \"\"}"u8.ToArray() });
        producer.Flush(TimeSpan.FromSeconds(10));
        Stage($"ingested {result.Sent:N0} documents ({result.Bytes / 1e6:F1} MB) and 2 malformed records into the in-process topic '{Topics.Documents}'");
        return result.Sent + 2;
    }

    private async Task<ScoringOutcome> ScoreAsync(InProcessKafkaCluster kafka, string connection, string proxyDir, string referenceFile,
        long records, long tokens, CancellationToken ct)
    {
        var documents = records - 2;
        var warmUp = (int)Math.Clamp(documents / 4, 50, 2_000);
        var modelId = Path.GetFileName(proxyDir);
        const string group = "demo-scorer";
        var options = new ScorerOptions
        {
            ModelDirectory = proxyDir, ModelId = modelId, Database = connection, Device = settings.Device, GroupId = group, InstanceId = "demo-scorer-1",
            TokenBudget = 16384, MaxWait = TimeSpan.FromMilliseconds(500), ProgressInterval = TimeSpan.FromMinutes(1),
            Labelling = new LabellingOptions
            {
                WarmUpDocuments = warmUp, RefitEveryDocuments = (int)Math.Max(1, documents * 2 / 3), Seed = settings.Seed,
                ReferencePath = referenceFile,
            }.With(settings.Labelling),
            Outbox = new OutboxRelayOptions { PollInterval = TimeSpan.FromMilliseconds(250) },
        };
        var events = new DemoEvents();
        using var host = BuildHost(events, DashboardComponents.Scorer, builder =>
        {
            builder.Services.AddSingleton<IScorerKafkaClients>(new InProcessScorerKafkaClients(kafka));
            builder.Services.AddScorer(builder.Configuration).UseOptions(options);
        });
        Stage($"scoring: the scorer service streams {records:N0} records; the GMM ({settings.Labelling.Describe(hasReference: true)}) " +
              "fits after " +
              $"{warmUp:N0} documents and refits, every version stored");
        var started = _clock.Elapsed;
        // The control events only draw the progress lines: the stage ends on what PostgreSQL holds.
        events.Listener = e =>
        {
            if (e is BatchScored)
            {
                var rate = events.Documents / Math.Max(1e-3, (_clock.Elapsed - started).TotalSeconds);
                _progress.Report($"  scored {events.Documents:N0}/{documents:N0} documents, {events.DeadLetters} dead-lettered, {rate:F0} documents/s");
            }
            else if (e is GmmRefitted g) _progress.Report($"  GMM version {g.Version} fitted on {g.SampleCount:N0} documents (K={g.Components})", force: true);
        };
        await StartAsync(host, "scoring", ct);

        // Done when the offsets the scorer committed with its rows reach the end of every partition (each record before
        // them is stored or dead-lettered), the relay has published every committed batch, and the labeller has relabelled
        // the warm-up's provisional rows.
        var ends = Enumerable.Range(0, kafka.PartitionCount(Topics.Documents))
            .ToDictionary(p => p, p => kafka.Watermarks(new TopicPartition(Topics.Documents, p)).High.Value);
        await using var store = NpgsqlDataSource.Create(connection);
        var queries = new PipelineProgressQueries(store);
        var worker = host.Services.GetRequiredService<ScorerWorker>();
        ScoringProgress? last = null;
        await StageWait.UntilDoneAsync("scoring",
            $"the scorer's offsets in PostgreSQL to reach the end of '{Topics.Documents}' ({records:N0} records), every scored batch to leave the outbox " +
            "and the warm-up's provisional labels to be relabelled",
            settings.ScoringBound.For(tokens), settings.ScoringBound.Stall, PollInterval, async c =>
            {
                var ended = worker.ExecuteTask is { IsCompleted: true } task ? task : null;
                var p = last = await queries.ScoringAsync(group, Topics.Documents, modelId, c);
                var done = p.Reached(ends) && p.UnpublishedBatches == 0 && p.Provisional == 0;
                return new StageProbe(done, $"{p.Describe(ends)}|{p.Stored}|{p.Provisional}|{p.UnpublishedBatches}|{p.GmmVersions}",
                    $"{p.Stored:N0} scores ({p.Provisional:N0} provisionally labelled), stored offsets {p.Describe(ends)}, " +
                    $"{p.UnpublishedBatches:N0} scored batches in the outbox, {p.GmmVersions} GMM versions",
                    ended is null ? null : ended.IsFaulted ? $"the scorer service failed ({ended.Exception!.GetBaseException().Message})" : "the scorer service stopped");
            }, ct);
        var bus = host.Services.GetRequiredService<MassTransit.IBusControl>().CheckHealth();
        await host.StopAsync(CancellationToken.None);
        await RelabelWithLatestAsync(connection, ct);
        var batches = kafka.ReadTopic(Topics.ScoredBatches).Count;
        var deadLetters = kafka.ReadTopic(Topics.DocumentsDeadLetter).Count;
        var elapsed = _clock.Elapsed - started;
        var stored = last!.Stored;
        Stage($"scored {stored:N0} documents in {elapsed.TotalSeconds:F0} s ({stored / Math.Max(1e-3, elapsed.TotalSeconds):F0} documents/s): " +
              $"{batches} scored batches on '{Topics.ScoredBatches}', {deadLetters} records on '{Topics.DocumentsDeadLetter}', {last.GmmVersions} GMM versions");
        if (events.Documents + events.DeadLetters < records)
            Stage($"note: the control bus delivered {events.Documents + events.DeadLetters:N0} of {records:N0} records' BatchScored events; " +
                  "the stage ended on what PostgreSQL holds");
        if (bus.Status != MassTransit.BusHealthStatus.Healthy)
            Stage($"note: the control bus was {bus.Status.ToString().ToLowerInvariant()} at the end of scoring ({bus.Description}); progress lines may have missed events");
        return new ScoringOutcome(stored, deadLetters, batches, last.GmmVersions, elapsed, last.LatestGmmVersion,
            events.Documents + events.DeadLetters, events.All<ScorerStarted>().Count > 0, bus.Status == MassTransit.BusHealthStatus.Healthy);
    }

    /// <summary>Rows keep the version that labelled them; the final version, fitted on most of the stream, relabels
    /// them all, as `reweight relabel --gmm-version` would.</summary>
    private async Task RelabelWithLatestAsync(string connection, CancellationToken ct)
    {
        await using var db = NpgsqlDataSource.Create(connection);
        var store = new GmmModelStore(db);
        var versions = await store.VersionsAsync(ct);
        if (versions.Count < 2) return;
        var latest = (await store.GetAsync(versions.Max(), ct))!;
        var labeller = GmmLabeller.FromModel(latest);
        var result = await new ScoreRelabeller(db).RelabelAsync(latest.Version, latest.ScorerModel, labeller.Assign, null, ct);
        Stage($"relabelled {result.RowsRelabelled:N0} stored scores with the final GMM version {latest.Version} (fitted on {latest.SampleCount:N0} documents): " +
              $"{result.LabelsChanged:N0} labels changed");
    }

    // ---- training ----------------------------------------------------------------------------------------------------

    /// <summary>The demo's third run: uniform training without the documents the scorer labelled noisy.</summary>
    public const string FilterRun = "filter";

    private async Task<TrainingRunOutcome> TrainAsync(InProcessKafkaCluster kafka, string connection, string name, string strategy,
        int steps, BpeTokenizer tokenizer, string proxyDir, string validationFile, string outDir, int? gmmVersion, CancellationToken ct)
    {
        var runId = $"demo-{_stamp}-{name}";
        var checkpoints = Path.Combine(outDir, "runs", runId);
        if (Directory.Exists(checkpoints)) Directory.Delete(checkpoints, recursive: true);
        var options = new TrainerOptions
        {
            RunId = runId, Strategy = strategy, ModelPreset = "tiny", VocabSize = tokenizer.VocabSize, EndOfTextToken = tokenizer.EndOfTextId,
            CheckpointDirectory = checkpoints, ConsumerGroup = $"demo-trainer-{name}", ValidationFile = validationFile,
            SkipNoisy = name == FilterRun,
            StopWhenIdleFor = TimeSpan.FromSeconds(2), PollTimeout = TimeSpan.FromMilliseconds(100), MetaValidationBatch = 8,
            // The trainer's own GMM (meta-em's phi) is fitted on (loss mean, variance): its default features, and the rule
            // the labelling uses without a reference.
            LabelRule = settings.Labelling.FallbackRule.Name,
            Training = new TrainingOptions
            {
                Steps = steps, BatchSize = settings.BatchSize, SequenceLength = settings.SequenceLength, LearningRate = 0.002, MinLearningRate = 0.0002,
                WarmupSteps = Math.Max(1, steps / 10), EvalEvery = Math.Max(1, steps / 5), Device = settings.Device, Seed = (ulong)settings.Seed,
            },
            ReferenceCheckpoint = Strategies.StrategyCatalogue.Get(strategy).HasReferenceModel ? proxyDir : null,
            // Weigh with the scorer's final GMM (the stream's first batches were scored before its warm-up fit).
            GmmVersion = gmmVersion,
        };
        var events = new DemoEvents();
        using var host = BuildHost(events, DashboardComponents.Trainer, builder =>
        {
            builder.Services.AddSingleton<ITrainerConsumerFactory>(new InProcessTrainerConsumers(kafka));
            builder.Services.AddSingleton(new TrainerDatabaseOptions(connection));
            builder.Services.AddTrainer(builder.Configuration).UseOptions(options);
        });
        var what = name == FilterRun ? "uniform weights on the documents not labelled noisy" : $"strategy {strategy}";
        Stage($"training run {runId}: the trainer service consumes '{Topics.ScoredBatches}' with {what}, {steps} steps");
        var started = _clock.Elapsed;
        await StartAsync(host, $"training run {runId}", ct);

        // Done when training_runs says the run finished: the trainer marks it so after its last step and checkpoint.
        await using var store = NpgsqlDataSource.Create(connection);
        var queries = new PipelineProgressQueries(store);
        var worker = host.Services.GetRequiredService<TrainerWorker>();
        await StageWait.UntilDoneAsync($"training run {runId}", $"training_runs to say the run finished ({steps} steps)",
            settings.TrainingBound.For(steps), settings.TrainingBound.Stall, PollInterval, async c =>
            {
                var ended = worker.ExecuteTask is { IsCompleted: true } task ? task : null;
                var p = await queries.TrainingRunAsync(runId, c);
                var failure = p.Status == "failed" ? "training_runs says it failed (see the errors above)"
                    : ended is null ? null
                    : ended.IsFaulted ? $"the trainer service failed ({ended.Exception!.GetBaseException().Message})"
                    : $"the trainer service stopped at step {worker.Result?.Step} ({worker.Result?.StopReason ?? "no result"})";
                return new StageProbe(p.Status == "finished", $"{p.Status}|{p.LastStep}",
                    $"status {p.Status ?? "(no row yet)"}, metrics up to step {p.LastStep?.ToString() ?? "none"}", failure);
            }, ct);
        // The worker stops the host itself once its run is recorded; its result is set just before.
        await worker.ExecuteTask!.WaitAsync(TimeSpan.FromMinutes(1), ct);
        await host.StopAsync(CancellationToken.None);
        var result = worker.Result ?? throw new InvalidOperationException($"training run {runId} failed (see the errors above)");
        var elapsed = _clock.Elapsed - started;
        var phiUpdates = events.All<ClusterParametersUpdated>().Count;
        var phiNote = phiUpdates > 0 ? $", {phiUpdates} phi updates recorded" : "";
        var skipNote = result.NoisySkipped > 0 ? $", {result.NoisySkipped:N0} documents labelled noisy left out" : "";
        Stage($"run {runId}: {result.Step} steps in {elapsed.TotalSeconds:F0} s ({result.StopReason}){phiNote}{skipNote}");
        return new TrainingRunOutcome(runId, strategy, result.Step, elapsed, name);
    }

    /// <summary>The pictures of this run (`reweight report`): one self-contained HTML file.</summary>
    private async Task<string> WriteReportAsync(string connection, string outDir, CancellationToken ct)
    {
        await using var db = NpgsqlDataSource.Create(connection);
        var data = await Reporting.ReportData.LoadAsync(db, new Reporting.ReportOptions { Seed = settings.Seed }, ct);
        var path = Path.Combine(outDir, "report.html");
        var html = Reporting.ReportRenderer.RenderPage(data, "Reweighting demo");
        Text.IO.AtomicFile.Write(path, stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(html)));
        Stage($"report with the charts of this run: {path}");
        return path;
    }

    // ---- plumbing ----------------------------------------------------------------------------------------------------

    /// <summary>A stage's host: the demo's logging, the control bus, the dashboard and the service <paramref name="register"/>
    /// adds, each with options built in code (the host reads no configuration source).</summary>
    private IHost BuildHost(DemoEvents events, string component, Action<HostApplicationBuilder> register)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddProvider(new DemoLogProvider(line => _progress.Report("  " + line), settings.Verbose));
        builder.Services.AddSingleton(events);
        builder.Services.AddControlBus(x =>
        {
            x.AddConsumer<DemoEventConsumer>();
            settings.ControlBus?.Invoke(x);
        });
        // The service's live dashboard, as `reweight score` / `reweight train` serve it (a busy port only warns).
        builder.Services.AddDashboard(builder.Configuration, component).UseOptions(new DashboardOptions { Enabled = settings.Dashboard });
        register(builder);
        return builder.Build();
    }

    /// <summary>Starts a stage's host: the control bus first (the host waits until its endpoints are ready), then the
    /// dashboard and the service. A part that cannot start fails the stage with one line.</summary>
    private async Task StartAsync(IHost host, string stage, CancellationToken ct)
    {
        try
        {
            await host.StartAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            throw new StageFailedException($"{stage} could not start its services: {e.GetBaseException().Message}");
        }
        AnnounceDashboard(host);
    }

    private void AnnounceDashboard(IHost host)
    {
        if (host.Services.GetRequiredService<DashboardServer>().Addresses is { Count: > 0 } urls)
            _progress.Report($"  live dashboard while this stage runs: {string.Join(", ", urls)}", force: true);
    }
}

/// <summary>The demo's corpus: the documents streamed, the clean held-out ones, and the injected-noise ground truth when known.</summary>
internal sealed record DemoCorpus(string Path, IReadOnlyList<CorpusRecord> Stream, IReadOnlyList<CorpusRecord> Validation,
    IReadOnlyList<CorpusRecord> Reference, IReadOnlyDictionary<string, CorpusLabel>? Truth);

/// <summary>The database the demo writes: its connection, the private server it started (stopped on dispose), and how
/// later commands reach it.</summary>
internal sealed record DemoDatabase(string ConnectionString, EmbeddedPostgres? Server, string QueryHint) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        if (Server is not null) await Server.DisposeAsync();
    }
}

/// <summary>What scoring left. <paramref name="Documents"/> and the counts before <paramref name="BusRecords"/> come from
/// PostgreSQL and the topics; <paramref name="BusRecords"/> (records the control bus's BatchScored events reported) and
/// <paramref name="ScorerStartedHeard"/> say only what the bus delivered, which drew the progress lines, and
/// <paramref name="BusHealthy"/> whether every endpoint of the bus was running when scoring ended.</summary>
internal sealed record ScoringOutcome(long Documents, long DeadLetters, int Batches, int GmmVersions, TimeSpan Elapsed, int? LatestGmmVersion,
    long BusRecords, bool ScorerStartedHeard, bool BusHealthy);

/// <summary>A finished training run of the demo; <paramref name="Name"/> is how the summary shows it (the strategy, or
/// <see cref="DemoRun.FilterRun"/>).</summary>
internal sealed record TrainingRunOutcome(string RunId, string Strategy, long Steps, TimeSpan Elapsed, string Name);
