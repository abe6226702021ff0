using System.Text.Json;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Scoring;
using Reweighting.Statistics;
using Reweighting.Text.Corpus;
using Reweighting.Text.Tokenization;
using Reweighting.Torch;

namespace Reweighting.Cli.Commands.NoiseDetection;

/// <summary>The documents of one corpus as scored: their ids and loss statistics (with scored bytes when counted), in
/// corpus order.</summary>
internal sealed record CorpusScores(List<string> Ids, LossStatistics[] Stats)
{
    /// <summary>Loss statistics of the labelled documents from a `reweight lm score` file (every row when
    /// <paramref name="labels"/> is null; documents without a label are skipped). Rows written before `lm score`
    /// counted bytes have no <c>n_bytes</c>: their statistics carry no bytes; rows written before it measured the
    /// compression ratio have no <c>compression_ratio</c>, and the detector then judges on the loss features alone; rows
    /// written before it measured the order gain have no <c>order_gain</c> (a text without words has it null), and
    /// the detector then judges without it.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">A row is not a `reweight lm score` row.</exception>
    public static CorpusScores Read(string path, IReadOnlyDictionary<string, CorpusLabel>? labels)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"scores {path} do not exist");
        var ids = new List<string>();
        var stats = new List<LossStatistics>();
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            try
            {
                var root = JsonDocument.Parse(text).RootElement;
                var id = root.GetProperty("id").GetString() ?? throw new InvalidDataException("null id");
                if (labels is not null && !labels.ContainsKey(id)) continue;
                var n = root.GetProperty("n_tokens").GetInt64();
                var bytes = root.TryGetProperty("n_bytes", out var b) ? b.GetInt64() : 0;
                var compression = root.TryGetProperty("compression_ratio", out var c) && c.ValueKind == JsonValueKind.Number
                    ? c.GetDouble() : double.NaN;
                var orderGain = root.TryGetProperty("order_gain", out var g) && g.ValueKind == JsonValueKind.Number
                    ? g.GetDouble() : double.NaN;
                ids.Add(id);
                // A one-token document has no scored token, and `lm score` writes its mean and variance as null.
                stats.Add(n == 0
                    ? LossStatistics.Empty
                    : new LossStatistics(n, root.GetProperty("loss_mean").GetDouble(), root.GetProperty("loss_var").GetDouble() * n,
                        bytes, compression, orderGain));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"{path}:{line}: not a `reweight lm score` row ({e.Message})");
            }
        }
        return new CorpusScores(ids, stats.ToArray());
    }
}

/// <summary>The proxy checkpoint, loaded once, that scores the corpora and references of a noise-detection run; documents
/// the proxy trained on are scored by its cross-fitted fold copies when it has them (<see cref="CrossFitFolds"/>), as
/// `lm score` and the scorer service score them.</summary>
internal sealed class ProxyCorpusScorer(string modelDir, Device device, int batch) : IDisposable
{
    private readonly GptModel _gpt = Checkpoint.LoadModel(modelDir, device);
    private readonly BpeTokenizer _tokenizer = BpeTokenizer.Load(modelDir);
    private readonly CrossFitFolds? _folds = CrossFitFolds.Load(modelDir);

    /// <summary>The checkpoint directory this scorer loaded.</summary>
    public string ModelDirectory => modelDir;

    /// <summary>Scores the labelled documents of a corpus (every document when <paramref name="labels"/> is null), counting
    /// the bytes of the scored tokens as `lm score` does.</summary>
    public CorpusScores Score(string corpusPath, IReadOnlyDictionary<string, CorpusLabel>? labels, CorpusReaderOptions? fields = null)
    {
        var records = CorpusLoading.Read(corpusPath, fields).Where(r => labels is null || labels.ContainsKey(r.Id)).ToList();
        if (records.Count < 10)
            throw new InvalidDataException(
                $"{corpusPath} has {records.Count} {(labels is null ? "" : "labelled ")}documents; the evaluation needs at least 10");
        return Score(records);
    }

    /// <summary>Scores documents in order, counting the bytes of the scored tokens and measuring each text's compression
    /// ratio and order gain as `lm score` does.</summary>
    public CorpusScores Score(IReadOnlyList<CorpusRecord> records)
    {
        var progress = new ConsoleProgress();
        var stats = new LossStatistics[records.Count];
        var routes = records.Select(r => _folds?.FoldOf(r.Text)).ToArray();
        var done = 0;
        for (var pass = -1; pass < (_folds?.Count ?? 0); pass++)
        {
            var fold = pass < 0 ? (int?)null : pass;
            var indices = Enumerable.Range(0, records.Count).Where(i => routes[i] == fold).ToList();
            if (indices.Count == 0) continue;
            using var foldModel = fold is { } k ? Checkpoint.LoadModel(CrossFitFolds.ModelDirectory(modelDir, k), device) : null;
            var scorer = new DocumentScorer(foldModel ?? _gpt, device, batch);
            var bytes = new long[indices.Count];
            // bytes[j] is filled as the scorer reads document j, before it yields that document's losses.
            var documents = indices.Select((index, j) =>
            {
                var ids = _tokenizer.Encode(records[index].Text);
                bytes[j] = ScoredDocuments.Bytes(_tokenizer, ids);
                return (IReadOnlyList<long>)Array.ConvertAll(ids, t => (long)t);
            });
            foreach (var doc in scorer.Score(documents))
            {
                var index = indices[doc.Index];
                stats[index] = LossStatistics.Of(doc.Losses, bytes[doc.Index]).WithTextMeasures(records[index].Text);
                if (++done % 100 == 0) progress.Report($"scored {done}/{records.Count} documents");
            }
        }
        var outOfFold = routes.Count(r => r is not null);
        progress.Report($"scored {records.Count} documents" + (outOfFold > 0 ? $" ({outOfFold} the proxy trained on, out of fold)" : ""),
            force: true);
        return new CorpusScores(records.Select(r => r.Id).ToList(), stats);
    }

    public void Dispose() => _gpt.Dispose();
}
