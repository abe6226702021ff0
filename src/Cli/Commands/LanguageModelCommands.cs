using System.CommandLine;
using System.Text.Json;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Evaluation;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Scoring;
using Reweighting.Statistics;
using Reweighting.Text.Corpus;
using Reweighting.Text.Tokenization;
using Reweighting.Torch;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight lm score|eval|tasks`: per-document loss statistics, held-out loss and few-shot accuracy of a checkpoint.</summary>
internal static class LanguageModelCommands
{
    public static Command Create()
    {
        var lm = new Command("lm", "Use a trained language model checkpoint");
        lm.Subcommands.Add(ScoreCommand());
        lm.Subcommands.Add(EvalCommand());
        lm.Subcommands.Add(TasksCommand());
        lm.Subcommands.Add(ImportCommand());
        lm.Subcommands.Add(ParityCommand.Create());
        return lm;
    }

    private static Command ImportCommand()
    {
        var from = new Option<string>("--from") { Description = "Hugging Face GPT-2 directory (config.json, model.safetensors, tokenizer.json or vocab.json + merges.txt)", Required = true };
        var output = new Option<string>("--out") { Description = "Checkpoint directory to write", Required = true };
        var command = new Command("import", "Convert a Hugging Face GPT-2 checkpoint into this product's checkpoint format") { from, output };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var source = parse.GetValue(from)!;
            if (!Directory.Exists(source)) throw new DirectoryNotFoundException($"{source} does not exist");
            var tokenizer = BpeTokenizer.Load(source);
            using var model = HuggingFaceGpt2.Import(source);
            if (tokenizer.VocabSize > model.Config.VocabSize)
                throw new InvalidDataException($"the tokenizer has {tokenizer.VocabSize} ids but the model's vocab_size is {model.Config.VocabSize}");
            var tokenizerFiles = Path.Combine(Path.GetTempPath(), $"reweight-tokenizer-{Guid.NewGuid():N}");
            try
            {
                tokenizer.Save(tokenizerFiles);
                Checkpoint.Save(parse.GetValue(output)!, model, tokenizerFiles);
            }
            finally
            {
                if (Directory.Exists(tokenizerFiles)) Directory.Delete(tokenizerFiles, recursive: true);
            }
            Console.Error.WriteLine($"imported {model.ParameterCount() / 1e6:F1}M parameters ({model.Config.Layers} layers, {model.Config.Embedding} wide) → {parse.GetValue(output)}");
            return 0;
        }));
        return command;
    }

    private static Option<string> ModelOption() => new("--model") { Description = "Checkpoint directory (config.json, model.safetensors, tokenizer)", Required = true };
    private static Option<string> DeviceOption() => new("--device") { Description = "cpu or cuda[:n]", DefaultValueFactory = _ => "cpu" };
    private static Option<int> BatchOption() => new("--batch") { Description = "Windows per forward pass", DefaultValueFactory = _ => 16 };

    private static Command ScoreCommand()
    {
        var model = ModelOption();
        var corpus = new Option<string>("--corpus") { Description = "Documents to score: " + CorpusFieldOptions.Formats, Required = true };
        var output = new Option<string>("--out")
        {
            Description = "JSONL file: {id, domain, n_tokens, n_bytes, loss_mean, loss_var, compression_ratio, order_gain} per " +
                          "document (n_bytes: the UTF-8 bytes of the scored tokens, every token but the first; compression_ratio: the " +
                          "text's DEFLATE size over its UTF-8 size; order_gain: the compression ratio of its words shuffled minus that " +
                          "of its words in order, null without words), in corpus order; when the model has cross-fitted folds " +
                          "(proxy train --folds), each document it trained on is scored by the fold copy that never saw it",
            Required = true,
        };
        var stride = new Option<int?>("--stride") { Description = "Window stride for documents longer than the context (default: the context length)" };
        var device = DeviceOption();
        var tokenBudget = new Option<int>("--token-budget")
        {
            Description = "Padded tokens per forward pass (windows × longest window); windows are sorted by length so little of it is padding",
            DefaultValueFactory = _ => new ScoringBatches().TokenBudget,
        };
        var batch = new Option<int?>("--batch") { Description = "Most windows per forward pass (default: as many as the token budget allows)" };
        var command = new Command("score", "Per-document token-loss statistics (mean and population variance, nats) and scored bytes")
        {
            model, corpus, output, stride, device, tokenBudget, batch,
        };
        var fields = new CorpusFieldOptions().AddTo(command);
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var batches = new ScoringBatches { TokenBudget = parse.GetValue(tokenBudget), MaxRows = parse.GetValue(batch) }.Validate();
            var dev = Device.Parse(parse.GetValue(device)!);
            var modelDir = parse.GetValue(model)!;
            using var gpt = Checkpoint.LoadModel(modelDir, dev);
            var folds = CrossFitFolds.Load(modelDir);
            var tokenizer = BpeTokenizer.Load(modelDir);
            var progress = new ConsoleProgress();
            using var writer = new StreamWriter(parse.GetValue(output)!);
            var done = 0;
            var statistics = new ScoringStatistics();
            // Each fold model (when the proxy has cross-fitted folds) scores the training documents it left out first; their
            // rows wait in memory and are written in corpus order as the proxy itself streams the rest. Streamed: the corpus
            // is read as the scorer's look-ahead needs it, so memory follows the look-ahead and the out-of-fold rows.
            IEnumerable<(int Index, CorpusRecord Record)> Routed(int? fold) =>
                CorpusLoading.Stream(parse.GetValue(corpus)!, fields.Reader(parse)).Select((r, i) => (i, r))
                    .Where(x => folds?.FoldOf(x.r.Text) == fold);
            var outOfFold = new SortedDictionary<int, string>();
            for (var k = 0; k < (folds?.Count ?? 0); k++)
            {
                using var foldModel = Checkpoint.LoadModel(CrossFitFolds.ModelDirectory(modelDir, k), dev);
                var foldScorer = new DocumentScorer(foldModel, dev, batches, parse.GetValue(stride));
                foreach (var (index, row) in ScoreRows(foldScorer, tokenizer, Routed(k))) outOfFold[index] = row;
                statistics += foldScorer.Statistics;
            }
            if (outOfFold.Count > 0)
                progress.Report($"{outOfFold.Count:N0} documents the proxy trained on scored out of fold (each by the fold copy that " +
                                "never saw it)", force: true);
            void Write(string row)
            {
                writer.WriteLine(row);
                if (++done % 100 == 0) progress.Report($"scored {done:N0} documents");
            }
            void WriteOutOfFold(int before)
            {
                while (outOfFold.Count > 0 && outOfFold.First() is var (index, row) && index < before)
                {
                    Write(row);
                    outOfFold.Remove(index);
                }
            }
            var scorer = new DocumentScorer(gpt, dev, batches, parse.GetValue(stride));
            foreach (var (index, row) in ScoreRows(scorer, tokenizer, Routed(null)))
            {
                WriteOutOfFold(index);
                Write(row);
            }
            WriteOutOfFold(int.MaxValue);
            statistics += scorer.Statistics;
            if (done == 0)
            {
                writer.Close();
                File.Delete(parse.GetValue(output)!);
                throw new InvalidDataException($"corpus {parse.GetValue(corpus)} holds no usable documents");
            }
            progress.Report($"scored {done} documents ({statistics}) → {parse.GetValue(output)}", force: true);
            return 0;
        }));
        return command;
    }

    /// <summary>Scores documents with one model: each document's `lm score` row, with its index, in input order.</summary>
    private static IEnumerable<(int Index, string Row)> ScoreRows(DocumentScorer scorer, BpeTokenizer tokenizer,
        IEnumerable<(int Index, CorpusRecord Record)> records)
    {
        // Filled as the scorer reads each document, before it yields that document's losses.
        var pending = new Dictionary<int, (int Index, string Id, string? Domain, long Bytes, double Compression, double OrderGain)>();
        var documents = records.Select((x, j) =>
        {
            var ids = tokenizer.Encode(x.Record.Text);
            pending[j] = (x.Index, x.Record.Id, x.Record.Domain, ScoredDocuments.Bytes(tokenizer, ids),
                TextCompression.Ratio(x.Record.Text), WordOrder.Gain(x.Record.Text));
            return (IReadOnlyList<long>)Array.ConvertAll(ids, t => (long)t);
        });
        foreach (var doc in scorer.Score(documents))
        {
            pending.Remove(doc.Index, out var r);
            var stats = LossStatistics.Of(doc.Losses, r.Bytes);
            // A one-token document has no prediction to score: no mean, no variance.
            double? mean = stats.Count == 0 ? null : stats.Mean, variance = stats.Count == 0 ? null : stats.Variance;
            yield return (r.Index, JsonSerializer.Serialize(new
            {
                id = r.Id, domain = r.Domain, n_tokens = stats.Count, n_bytes = stats.Bytes, loss_mean = mean, loss_var = variance,
                compression_ratio = double.IsFinite(r.Compression) ? r.Compression : (double?)null,
                order_gain = double.IsFinite(r.OrderGain) ? r.OrderGain : (double?)null,
            }));
        }
    }

    private static Command EvalCommand()
    {
        var model = ModelOption();
        var corpus = new Option<string>("--corpus") { Description = "Held-out documents: " + CorpusFieldOptions.Formats, Required = true };
        var json = new Option<bool>("--json") { Description = "Print {loss, perplexity, tokens, domains: {NAME: {...}}}" };
        var device = DeviceOption();
        var batch = BatchOption();
        var command = new Command("eval", "Held-out loss (nats per token) and perplexity, overall and per domain")
            { model, corpus, json, device, batch };
        var fields = new CorpusFieldOptions().AddTo(command);
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var dev = Device.Parse(parse.GetValue(device)!);
            using var gpt = Checkpoint.LoadModel(parse.GetValue(model)!, dev);
            var tokenizer = BpeTokenizer.Load(parse.GetValue(model)!);
            var records = CorpusLoading.Read(parse.GetValue(corpus)!, fields.Reader(parse));
            var byDomain = records.GroupBy(r => r.Domain ?? "default").ToDictionary(g => g.Key,
                g => (IReadOnlyList<IReadOnlyList<long>>)g.Select(r => (IReadOnlyList<long>)tokenizer.Encode(r.Text).Select(i => (long)i).ToArray()).ToList());
            var result = HeldOutLoss.Compute(gpt, byDomain, dev, parse.GetValue(batch));
            if (!result.TryGetValue(HeldOutLoss.AllDomains, out var all)) throw new InvalidDataException("the corpus has no document of two or more tokens");
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    loss = all.Loss, perplexity = all.Perplexity, tokens = all.Tokens,
                    domains = result.Where(kv => kv.Key != HeldOutLoss.AllDomains)
                        .ToDictionary(kv => kv.Key, kv => new { loss = kv.Value.Loss, perplexity = kv.Value.Perplexity, tokens = kv.Value.Tokens }),
                }));
            }
            else
            {
                Console.WriteLine($"{"domain",-20} {"loss",10} {"perplexity",12} {"tokens",10}");
                foreach (var (name, d) in result) Console.WriteLine($"{name,-20} {d.Loss,10:F4} {d.Perplexity,12:F2} {d.Tokens,10}");
            }
            return 0;
        }));
        return command;
    }

    private static Command TasksCommand()
    {
        var model = ModelOption();
        var tasks = new Option<string>("--tasks") { Description = "Directory of task files (*.jsonl: {\"context\", \"choices\", \"gold\"} per line)", Required = true };
        var shots = new Option<int>("--shots") { Description = "Solved examples before each question", DefaultValueFactory = _ => 5 };
        var seed = new Option<int>("--seed") { Description = "Seed for drawing the examples", DefaultValueFactory = _ => 1234 };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var device = DeviceOption();
        var command = new Command("tasks", "Few-shot multiple-choice accuracy (acc and acc_norm, as the LM Evaluation Harness scores them)") { model, tasks, shots, seed, json, device };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var dev = Device.Parse(parse.GetValue(device)!);
            var dir = parse.GetValue(tasks)!;
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"task directory {dir} does not exist");
            var files = Directory.GetFiles(dir, "*.jsonl").OrderBy(f => f, StringComparer.Ordinal).ToList();
            if (files.Count == 0) throw new InvalidDataException($"{dir} holds no *.jsonl task files");
            using var gpt = Checkpoint.LoadModel(parse.GetValue(model)!, dev);
            var tokenizer = BpeTokenizer.Load(parse.GetValue(model)!);
            var evaluator = new FewShotEvaluator(gpt, text => tokenizer.Encode(text).Select(i => (long)i).ToArray(), dev);
            var results = files.Select(f => evaluator.Evaluate(Path.GetFileNameWithoutExtension(f), MultipleChoiceItem.ReadJsonl(f), parse.GetValue(shots), parse.GetValue(seed))).ToList();
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(results.ToDictionary(r => r.Task, r => new { acc = r.Accuracy, acc_norm = r.NormalizedAccuracy, items = r.Items, shots = r.Shots })));
            else
            {
                Console.WriteLine($"{"task",-20} {"items",6} {"acc",8} {"acc_norm",9}");
                foreach (var r in results) Console.WriteLine($"{r.Task,-20} {r.Items,6} {r.Accuracy,8:F4} {r.NormalizedAccuracy,9:F4}");
            }
            return 0;
        }));
        return command;
    }
}
