using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Reweighting.Text.Corpus;
using Reweighting.Text.Tokenization;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight tokenizer train|encode|decode|bench|parity`: byte-level BPE vocabularies.</summary>
internal static class TokenizerCommands
{
    private const int ProblemsShown = 20;

    public static Command Create() =>
        new("tokenizer", "Byte-level BPE tokenizers (GPT-2 style): train a vocabulary, encode and decode text")
        {
            TrainCommand(), EncodeCommand(), DecodeCommand(), Bench.TokenizerBenchmark.Create(), TokenizerParityCommand.Create(),
        };

    private static Command TrainCommand()
    {
        var corpus = new Option<string>("--corpus") { Description = "Corpus: " + CorpusFieldOptions.Formats, Required = true };
        var vocabSize = new Option<int>("--vocab-size") { Description = "Total ids: 256 bytes + merges + <|endoftext|>", DefaultValueFactory = _ => 8192 };
        var output = new Option<string>("--out") { Description = "Directory to write tokenizer.json, encoder.json and vocab.bpe into", Required = true };
        var perFile = new Option<bool>("--document-per-file") { Description = "Plain-text files are one document each (default: one per line)" };
        var minFrequency = new Option<int>("--min-frequency") { Description = "Stop when the best pair occurs fewer times than this", DefaultValueFactory = _ => 2 };
        var json = new Option<bool>("--json") { Description = "Print a JSON summary on stdout" };
        var command = new Command("train", "Learn a byte-level BPE vocabulary from a corpus (deterministic for a given corpus and size)")
        {
            corpus, vocabSize, output, perFile, minFrequency, json,
        };
        var fields = new CorpusFieldOptions().AddTo(command);
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var size = parse.GetValue(vocabSize);
            if (size < 257) return CommandGuard.Fail($"--vocab-size must be at least 257 (256 byte tokens + <|endoftext|>), got {size}", 2);
            var path = parse.GetValue(corpus)!;
            if (!CorpusReader.Exists(path)) return CommandGuard.Fail($"corpus not found: {path}", 2);

            var options = fields.Reader(parse) with
            {
                PlainText = parse.GetValue(perFile) ? PlainTextLayout.DocumentPerFile : PlainTextLayout.DocumentPerLine,
            };
            var shown = 0;
            var reader = new CorpusReader(options, problem =>
            {
                // Every problem is counted; the first few are shown so a broken corpus is obvious without flooding.
                if (shown++ < ProblemsShown) Console.Error.WriteLine($"skipped {problem}");
            });
            long documents = 0, bytes = 0;
            var texts = reader.ReadTexts(path).Select(t => { documents++; bytes += t.Length; return t; });

            var clock = Stopwatch.StartNew();
            var progress = new ThrottledProgress(clock);
            var tokenizer = BpeTrainer.Train(texts, new BpeTrainerOptions(size, parse.GetValue(minFrequency)), progress);
            progress.Finish();
            if (reader.ProblemCount > ProblemsShown) Console.Error.WriteLine($"... {reader.ProblemCount - ProblemsShown} more skipped records not shown");
            if (documents == 0) return CommandGuard.Fail($"no documents in {path} ({reader.ProblemCount} skipped)", 1);

            var outDir = parse.GetValue(output)!;
            tokenizer.Save(outDir);
            var summary = new
            {
                out_dir = outDir,
                vocab_size = tokenizer.VocabSize,
                merges = tokenizer.Merges.Count,
                end_of_text_id = tokenizer.EndOfTextId,
                documents,
                characters = bytes,
                skipped_records = reader.ProblemCount,
                seconds = Math.Round(clock.Elapsed.TotalSeconds, 2),
            };
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(summary));
            else
            {
                Console.WriteLine($"trained {tokenizer.VocabSize} ids ({tokenizer.Merges.Count} merges, <|endoftext|> = {tokenizer.EndOfTextId}) on {documents:N0} documents in {clock.Elapsed.TotalSeconds:F1} s");
                if (tokenizer.VocabSize < size) Console.WriteLine($"note: stopped below --vocab-size {size}: no pair occurs {parse.GetValue(minFrequency)}+ times any more");
                if (reader.ProblemCount > 0) Console.WriteLine($"skipped {reader.ProblemCount} record(s); see stderr");
                Console.WriteLine($"wrote {Path.Combine(outDir, TokenizerDirectory.TokenizerJsonFile)}, {TokenizerDirectory.EncoderJsonFile}, {TokenizerDirectory.VocabBpeFile}");
            }
            return 0;
        }));
        return command;
    }

    private static Command EncodeCommand()
    {
        var tokenizerDir = TokenizerOption();
        var text = new Option<string?>("--text") { Description = "Text to encode (default: all of stdin, as raw bytes)" };
        var special = new Option<bool>("--special") { Description = "Recognise <|endoftext|> in the text as its special id" };
        var json = new Option<bool>("--json") { Description = "Print {\"ids\": [...], \"tokens\": N, \"bytes\": N} instead of comma-separated ids" };
        var command = new Command("encode", "Encode text to token ids") { tokenizerDir, text, special, json };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var tokenizer = TokenizerSource.Load(parse.GetValue(tokenizerDir)!);
            int[] ids;
            long byteCount;
            if (parse.GetValue(text) is { } given)
            {
                ids = tokenizer.Encode(given, parse.GetValue(special));
                byteCount = Encoding.UTF8.GetByteCount(given);
            }
            else
            {
                using var stdin = Console.OpenStandardInput();
                using var buffer = new MemoryStream();
                stdin.CopyTo(buffer);
                var bytes = buffer.ToArray();
                byteCount = bytes.Length;
                if (parse.GetValue(special))
                {
                    if (!System.Text.Unicode.Utf8.IsValid(bytes)) return CommandGuard.Fail("--special needs valid UTF-8 input", 2);
                    ids = tokenizer.Encode(Encoding.UTF8.GetString(bytes), allowSpecialTokens: true);
                }
                else ids = tokenizer.EncodeBytes(bytes);
            }
            Console.WriteLine(parse.GetValue(json)
                ? JsonSerializer.Serialize(new { ids, tokens = ids.Length, bytes = byteCount })
                : string.Join(",", ids));
            return 0;
        }));
        return command;
    }

    private static Command DecodeCommand()
    {
        var tokenizerDir = TokenizerOption();
        var ids = new Option<string?>("--ids") { Description = "Ids separated by commas or spaces (default: read them from stdin)" };
        var strict = new Option<bool>("--strict") { Description = "Fail if the ids spell invalid UTF-8 (default: substitute U+FFFD)" };
        var raw = new Option<bool>("--bytes") { Description = "Write the exact bytes to stdout instead of text" };
        var json = new Option<bool>("--json") { Description = "Print {\"text\": ..., \"valid_utf8\": bool, \"bytes\": N}" };
        var command = new Command("decode", "Decode token ids to text") { tokenizerDir, ids, strict, raw, json };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var tokenizer = TokenizerSource.Load(parse.GetValue(tokenizerDir)!);
            var source = parse.GetValue(ids) ?? Console.In.ReadToEnd();
            var parts = source.Split([',', ' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries);
            var values = new int[parts.Length];
            for (var i = 0; i < parts.Length; i++)
                if (!int.TryParse(parts[i], out values[i])) return CommandGuard.Fail($"--ids: \"{parts[i]}\" is not an integer", 2);
            var bytes = tokenizer.DecodeBytes(values);
            var valid = System.Text.Unicode.Utf8.IsValid(bytes);
            if (parse.GetValue(strict) && !valid) return CommandGuard.Fail("the ids spell invalid UTF-8 (drop --strict to substitute U+FFFD, or use --bytes)", 1);
            if (parse.GetValue(raw))
            {
                using var stdout = Console.OpenStandardOutput();
                stdout.Write(bytes);
            }
            else if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(new { text = Encoding.UTF8.GetString(bytes), valid_utf8 = valid, bytes = bytes.Length }));
            else Console.Write(Encoding.UTF8.GetString(bytes) + (Console.IsOutputRedirected ? "" : "\n"));
            return 0;
        }));
        return command;
    }

    internal static Option<string> TokenizerOption() =>
        new("--tokenizer")
        {
            Description = "gpt2 (GPT-2's vocabulary, built in) or a tokenizer directory (tokenizer.json, encoder.json + vocab.bpe, " +
                          "or vocab.json + merges.txt; write a directory named gpt2 as ./gpt2)",
            Required = true,
        };

    /// <summary>Training progress on stderr, at most twice a second, on one line when stderr is a terminal.</summary>
    private sealed class ThrottledProgress(Stopwatch clock) : IProgress<BpeTrainingProgress>
    {
        private TimeSpan? _last;
        private bool _pending;

        public void Report(BpeTrainingProgress value)
        {
            var interval = Console.IsErrorRedirected ? TimeSpan.FromSeconds(5) : TimeSpan.FromMilliseconds(500);
            if (value.Phase != "done" && _last is { } last && clock.Elapsed - last < interval) return;
            _last = clock.Elapsed;
            var line = value.Phase switch
            {
                "counting" => $"counting words: {value.Done:N0} documents, {value.UniqueWords:N0} distinct words",
                "merging" => $"learning merges: {value.Done:N0}/{value.Total:N0} ({100.0 * value.Done / Math.Max(1, value.Total):F0}%) over {value.UniqueWords:N0} words",
                _ => $"done: {value.Done:N0} merges",
            };
            line = $"[{clock.Elapsed:mm\\:ss}] {line}";
            if (Console.IsErrorRedirected) Console.Error.WriteLine(line);
            else { Console.Error.Write("\r" + line.PadRight(90)); _pending = true; }
        }

        public void Finish()
        {
            if (_pending) Console.Error.WriteLine();
        }
    }
}
