using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Reweighting.Cli.Commands;
using Reweighting.Text.Corpus;
using Reweighting.Text.Tokenization;

namespace Reweighting.Cli.Bench;

/// <summary>`reweight tokenizer bench`: training time and single-thread encode throughput (MB/s of UTF-8 input).</summary>
/// <remarks>
/// Without --corpus the text is <see cref="SyntheticEnglish"/> (training and held-out text from different seeds),
/// so the figure reproduces from a fresh clone; with --corpus the first documents train and the rest are encoded.
/// Encoding runs on the calling thread only. Three passes over the held-out text: a fresh word cache (filling as it
/// goes), a warm cache, and no cache at all. With <c>--tokenizer gpt2</c> the same text is also encoded by
/// Microsoft.ML.Tokenizers (GPT-2's vocabulary, its own encoder) in the same process, fresh and warm, and the ids compared.
/// </remarks>
internal static class TokenizerBenchmark
{
    public static Command Create()
    {
        var corpus = new Option<string?>("--corpus") { Description = "Corpus to measure on (default: synthetic English-like text)" };
        var tokenizerDir = new Option<string?>("--tokenizer")
        {
            Description = "Use this tokenizer instead of training one: a directory, or gpt2 (then Microsoft.ML.Tokenizers is measured too)",
        };
        var vocabSize = new Option<int>("--vocab-size") { Description = "Vocabulary size to train", DefaultValueFactory = _ => 8192 };
        var trainMb = new Option<double>("--train-mb") { Description = "Megabytes of text to train on", DefaultValueFactory = _ => 8 };
        var encodeMb = new Option<double>("--encode-mb") { Description = "Megabytes of held-out text to encode", DefaultValueFactory = _ => 16 };
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON to this file" };
        var command = new Command("bench", "Tokenizer benchmark: training time and one-thread encode MB/s") { corpus, tokenizerDir, vocabSize, trainMb, encodeMb, json };
        command.SetAction(parse => CommandGuard.Run(() => Run(
            parse.GetValue(corpus), parse.GetValue(tokenizerDir), parse.GetValue(vocabSize),
            parse.GetValue(trainMb), parse.GetValue(encodeMb), parse.GetValue(json))));
        return command;
    }

    private static int Run(string? corpusPath, string? tokenizerDir, int vocabSize, double trainMb, double encodeMb, string? jsonPath)
    {
        if (trainMb <= 0 || encodeMb <= 0) return CommandGuard.Fail("--train-mb and --encode-mb must be positive", 2);
        var trainBytes = (long)(trainMb * 1_000_000);
        var encodeBytes = (long)(encodeMb * 1_000_000);
        List<string> train, held;
        string textName;
        if (corpusPath is null)
        {
            textName = "synthetic English-like text (Reweighting.Text.Corpus.SyntheticEnglish; train seed 1, held-out seed 2)";
            train = SplitDocuments(SyntheticEnglish.Generate((int)trainBytes, seed: 1));
            held = SplitDocuments(SyntheticEnglish.Generate((int)encodeBytes, seed: 2));
        }
        else
        {
            textName = $"corpus {corpusPath}";
            // A given tokenizer trains on nothing, so the held-out text starts at the corpus's first document.
            (train, held) = ReadCorpus(corpusPath, tokenizerDir is null ? trainBytes : 0, encodeBytes);
            if (held.Count == 0) return CommandGuard.Fail($"no documents in {corpusPath}", 1);
        }

        var results = new Dictionary<string, object> { ["text"] = textName };
        BpeTokenizer tokenizer;
        if (tokenizerDir is not null)
        {
            tokenizer = TokenizerSource.Load(tokenizerDir);
            results["tokenizer"] = tokenizerDir;
            if (TokenizerSource.IsBuiltIn(tokenizerDir)) WarmUpJit(held);
        }
        else
        {
            var clock = Stopwatch.StartNew();
            tokenizer = BpeTrainer.Train(train, vocabSize);
            var seconds = clock.Elapsed.TotalSeconds;
            var mb = train.Sum(t => (long)Encoding.UTF8.GetByteCount(t)) / 1e6;
            results["train"] = new { megabytes = Math.Round(mb, 2), vocab_size = tokenizer.VocabSize, seconds = Math.Round(seconds, 2) };
            Console.WriteLine($"train: {mb:F1} MB to {tokenizer.VocabSize} ids in {seconds:F1} s");
            // Reload from disk so encoding starts with an empty cache, as a freshly started scorer would.
            var dir = Directory.CreateTempSubdirectory("reweight-tokenizer-bench-").FullName;
            try { tokenizer.Save(dir); tokenizer = BpeTokenizer.Load(dir); }
            finally { Directory.Delete(dir, recursive: true); }
        }

        var bytes = held.Sum(t => (long)Encoding.UTF8.GetByteCount(t));
        var output = new List<int>(1 << 20);
        long tokens = 0;
        double Pass(bool cached)
        {
            tokens = 0;
            var clock = Stopwatch.StartNew();
            foreach (var text in held)
            {
                output.Clear();
                if (cached) tokenizer.Encode(text, output);
                else tokenizer.EncodeUncached(text, output);
                tokens += output.Count;
            }
            return bytes / 1e6 / clock.Elapsed.TotalSeconds;
        }

        var cold = Pass(cached: true);
        var warm = Pass(cached: true);
        var uncached = Pass(cached: false);
        results["encode"] = new
        {
            megabytes = Math.Round(bytes / 1e6, 2),
            documents = held.Count,
            tokens,
            bytes_per_token = Math.Round((double)bytes / tokens, 3),
            threads = 1,
            mb_per_s_fresh_cache = Math.Round(cold, 2),
            mb_per_s_warm_cache = Math.Round(warm, 2),
            mb_per_s_no_cache = Math.Round(uncached, 2),
        };
        results["goal_2_mb_per_s_met"] = Math.Min(cold, uncached) >= 2;
        Console.WriteLine($"encode: {bytes / 1e6:F1} MB, {tokens:N0} tokens ({(double)bytes / tokens:F2} bytes/token), one thread");
        Console.WriteLine($"  fresh cache {cold,8:F2} MB/s");
        Console.WriteLine($"  warm cache  {warm,8:F2} MB/s");
        Console.WriteLine($"  no cache    {uncached,8:F2} MB/s   (goal >= 2 MB/s)");
        if (tokenizerDir is not null && TokenizerSource.IsBuiltIn(tokenizerDir))
        {
            var library = LibraryGpt2Benchmark.Measure(held, bytes, tokenizer);
            results["library"] = library;
            results["library_to_project"] = new
            {
                fresh_cache = Math.Round(library.MbPerSFreshCache / cold, 2),
                warm_cache = Math.Round(library.MbPerSWarmCache / warm, 2),
            };
            Console.WriteLine($"{library.Name} (GPT-2 vocabulary, its own encoder): {library.Tokens:N0} tokens, " +
                              $"{library.IdenticalDocuments}/{held.Count} documents with identical ids");
            Console.WriteLine($"  fresh cache {library.MbPerSFreshCache,8:F2} MB/s   ({library.MbPerSFreshCache / cold:F2}x ours)");
            Console.WriteLine($"  warm cache  {library.MbPerSWarmCache,8:F2} MB/s   ({library.MbPerSWarmCache / warm:F2}x ours)");
        }
        if (jsonPath is not null) File.WriteAllText(jsonPath, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    /// <summary>Compiles both GPT-2 encoders' code paths on throwaway instances, so neither timed pass pays for the JIT.</summary>
    private static void WarmUpJit(List<string> held)
    {
        var sample = held.Take(200).ToList();
        var project = Gpt2Vocabulary.Create();
        var output = new List<int>();
        foreach (var text in sample) { output.Clear(); project.Encode(text, output); project.EncodeUncached(text, output); }
        LibraryGpt2Benchmark.WarmUp(sample);
    }

    private static List<string> SplitDocuments(string text) =>
        text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(d => d + "\n\n").ToList();

    private static (List<string> Train, List<string> Held) ReadCorpus(string path, long trainBytes, long encodeBytes)
    {
        var reader = new CorpusReader(onProblem: p => Console.Error.WriteLine($"skipped {p}"));
        var all = new List<string>();
        long total = 0;
        foreach (var text in reader.ReadTexts(path))
        {
            all.Add(text);
            total += Encoding.UTF8.GetByteCount(text);
            if (total >= trainBytes + encodeBytes) break;
        }
        // A small corpus is both trained on and encoded rather than split into two useless halves.
        if (total < trainBytes + encodeBytes / 4) return (all, all);
        var train = new List<string>();
        long seen = 0;
        var i = 0;
        for (; i < all.Count && seen < trainBytes; i++) { train.Add(all[i]); seen += Encoding.UTF8.GetByteCount(all[i]); }
        return (train, all.Skip(i).ToList());
    }
}
