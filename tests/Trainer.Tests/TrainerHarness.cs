using Reweighting.Contracts.Batches;
using Reweighting.InProcessKafka;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Trainer.Recording;

namespace Reweighting.Trainer.Tests;

/// <summary>Runs the streaming trainer on a tiny GPT over an in-memory stream and collects what it reports.</summary>
internal sealed class TrainerHarness : IDisposable
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "reweight-trainer-tests", Guid.NewGuid().ToString("N"));

    public static GptModel Model() => new(new GptConfig(VocabSize: ScoredStream.Vocab, ContextLength: 16, Layers: 1, Heads: 2, Embedding: 16), seed: 3);

    public TrainerOptions Options(string strategy = "uniform", int steps = 12) => new()
    {
        Strategy = strategy,
        VocabSize = ScoredStream.Vocab,
        EndOfTextToken = ScoredStream.EndOfText,
        CheckpointDirectory = Path.Combine(Directory, "checkpoint"),
        Training = new TrainingOptions
        {
            Steps = steps, BatchSize = 4, SequenceLength = 16, WarmupSteps = 2, LearningRate = 3e-3, MinLearningRate = 3e-4,
            CheckpointEvery = 3, EvalEvery = 4, Seed = 7,
        },
        PollTimeout = TimeSpan.FromMilliseconds(20),
        StopWhenIdleFor = TimeSpan.FromMilliseconds(300),
        ValidationFraction = 0.15,
        ValidationDocuments = 4,
        GmmSample = 16,
        MetaValidationBatch = 2,
    };

    /// <summary>What one call of RunAsync reported.</summary>
    public sealed record Outcome(StreamingRunResult Result, List<StepReport> Steps, string RunId, StreamingTrainer Trainer)
    {
        public IEnumerable<Guid> Completed => Steps.SelectMany(s => s.CompletedBatches);
    }

    /// <summary>Runs to the end (or until <paramref name="crashAfter"/> steps, by a failing callback); a crashed run's
    /// outcome holds the steps it reported before the failure, and stopped as fatal.</summary>
    public async Task<Outcome> RunAsync(InProcessKafkaCluster cluster, TrainerOptions options, long? crashAfter = null, ITrainingRecorder? recorder = null,
        Func<int, CancellationToken, Task<Contracts.GmmModel?>>? gmmLookup = null, GptModel? reference = null, List<Contracts.Control.ControlEvent>? events = null,
        Action<StepReport, CancellationTokenSource>? onStep = null, Confluent.Kafka.IProducer<string?, byte[]>? deadLetters = null)
    {
        var steps = new List<StepReport>();
        using var stop = new CancellationTokenSource();
        using var model = Model();
        using var trainer = new StreamingTrainer(model, options, recorder)
        {
            GmmLookup = gmmLookup,
            Reference = reference,
            Events = e => events?.Add(e),
            DeadLetterProducer = deadLetters,
            StepCompleted = r =>
            {
                steps.Add(r);
                onStep?.Invoke(r, stop);
                if (crashAfter is { } n && r.Step == n) throw new SimulatedCrash();
            },
        };
        using var consumer = ScoredStream.Consumer(cluster);
        try
        {
            var result = await trainer.RunAsync(consumer, ScoredStream.Partitions(cluster), stop.Token);
            return new Outcome(result, steps, trainer.RunId, trainer);
        }
        catch (SimulatedCrash)
        {
            return new Outcome(new StreamingRunResult(trainer.RunId, trainer.Step, TrainerStopReason.Fatal, steps.Select(s => s.Loss).ToList(), 0, 0), steps, trainer.RunId, trainer);
        }
    }

    public static List<ScoredBatch> Batches(int count, int? gmmVersion = null) => Enumerable.Range(0, count).Select(i => ScoredStream.Batch(i, gmmVersion: gmmVersion)).ToList();

    public void Dispose()
    {
        try
        {
            if (System.IO.Directory.Exists(Directory)) System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException) { }
    }

    public sealed class SimulatedCrash : Exception
    {
        public SimulatedCrash() : base("simulated crash") { }
    }
}
