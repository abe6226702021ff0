using System.CommandLine;
using Confluent.Kafka;
using Reweighting.Cli.Streaming;
using Reweighting.Contracts;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight ingest PATH --bootstrap-servers ...`: produces a corpus to the `documents` topic.</summary>
internal static class IngestCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("path") { Description = "Corpus: " + CorpusFieldOptions.Formats };
        var servers = new Option<string>("--bootstrap-servers")
        {
            Description = "Kafka bootstrap servers, host:port[,host:port] (default: $KAFKA_BOOTSTRAP_SERVERS)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP_SERVERS") ?? "",
        };
        var topic = new Option<string>("--topic") { Description = "Topic to produce to", DefaultValueFactory = _ => Topics.Documents };
        var timeout = new Option<int>("--delivery-timeout") { Description = "Seconds a record may wait for the broker before the ingest fails", DefaultValueFactory = _ => 60 };
        var command = new Command("ingest", "Produce a corpus to the documents topic (one JSON record per document, keyed by id)")
            { path, servers, topic, timeout };
        var fields = new CorpusFieldOptions().AddTo(command);
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var bootstrap = parse.GetValue(servers)!;
            if (string.IsNullOrWhiteSpace(bootstrap)) throw new ArgumentException("--bootstrap-servers (or KAFKA_BOOTSTRAP_SERVERS) is required");
            if (parse.GetValue(timeout) < 1) throw new ArgumentException("--delivery-timeout must be at least 1 second");
            // Streamed: a corpus of any size is produced without holding it in memory.
            var records = CorpusLoading.Stream(parse.GetValue(path)!, fields.Reader(parse));
            using var cancel = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                cancel.Cancel();
            };
            var progress = new ConsoleProgress();
            using var producer = new ProducerBuilder<string?, byte[]>(CorpusIngest.ProducerConfig(bootstrap, TimeSpan.FromSeconds(parse.GetValue(timeout))))
                .SetErrorHandler((_, e) => progress.Report($"kafka: {e.Reason}", force: true))
                .Build();
            var result = CorpusIngest.Run(records, producer, parse.GetValue(topic)!, line => progress.Report(line), cancel.Token);
            Console.Error.WriteLine($"{result.Sent} documents ({result.Bytes / 1e6:F1} MB) produced to {parse.GetValue(topic)} on {bootstrap}" +
                                    (result.PerPartition.Count > 0 ? $"; per partition: {string.Join(", ", result.PerPartition.OrderBy(p => p.Key).Select(p => $"{p.Key}: {p.Value}"))}" : ""));
            if (result.Sent + result.Failed == 0 && !cancel.IsCancellationRequested)
                throw new InvalidDataException($"corpus {parse.GetValue(path)} holds no usable documents");
            if (result.Failed > 0) throw new IOException($"{result.Failed} of {result.Sent + result.Failed} documents were not delivered ({result.FirstError})");
            return cancel.IsCancellationRequested ? 130 : 0;
        }));
        return command;
    }
}
