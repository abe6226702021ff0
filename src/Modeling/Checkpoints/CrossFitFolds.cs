using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Reweighting.Text.IO;

namespace Reweighting.Modeling.Checkpoints;

/// <summary>Cross-fitted copies of a proxy. Fold k's model is trained with the proxy's tokenizer and settings on the
/// proxy's training documents outside fold k, so every document the proxy trained on can be scored by a model that
/// never saw it (its out-of-fold score). A clean reference that was also the proxy's training corpus then lies where
/// unseen clean text lies, instead of below it. Stored in the checkpoint's <c>folds/</c> directory: <c>folds.json</c>
/// (each training document's fold, keyed by the SHA-256 of its text) and one model directory per fold (config and
/// weights; the tokenizer is the checkpoint's).</summary>
public sealed class CrossFitFolds
{
    /// <summary>The checkpoint's subdirectory holding the folds.</summary>
    public const string DirectoryName = "folds";

    /// <summary>The manifest's file name inside <see cref="DirectoryName"/>.</summary>
    public const string ManifestFile = "folds.json";

    private readonly Dictionary<string, int> _documents;

    /// <summary>A manifest of <paramref name="count"/> folds over documents keyed by <see cref="Key"/>.</summary>
    /// <exception cref="ArgumentException">Fewer than two folds, or a document in no fold of them.</exception>
    public CrossFitFolds(int count, IReadOnlyDictionary<string, int> documents)
    {
        if (count < 2) throw new ArgumentException($"cross-fitting needs at least 2 folds, not {count}", nameof(count));
        foreach (var (key, fold) in documents)
            if (fold < 0 || fold >= count) throw new ArgumentException($"document {key} is in fold {fold} of {count}", nameof(documents));
        Count = count;
        _documents = new Dictionary<string, int>(documents, StringComparer.Ordinal);
    }

    /// <summary>The number of folds (and fold models).</summary>
    public int Count { get; }

    /// <summary>The number of training documents the manifest knows.</summary>
    public int Documents => _documents.Count;

    /// <summary>How many of the documents fall in each fold.</summary>
    public int[] Sizes()
    {
        var sizes = new int[Count];
        foreach (var fold in _documents.Values) sizes[fold]++;
        return sizes;
    }

    /// <summary>A document's key: the first 16 bytes of the SHA-256 of its UTF-8 text, in hex.</summary>
    public static string Key(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 16));

    /// <summary>The fold of <paramref name="count"/> a document with this key belongs to: its key's first four bytes
    /// modulo the count, so the split depends on nothing but the text.</summary>
    public static int Assign(string key, int count) =>
        (int)(uint.Parse(key.AsSpan(0, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture) % (uint)count);

    /// <summary>The manifest of a proxy trained on <paramref name="texts"/>, each in the fold <see cref="Assign"/> gives.</summary>
    public static CrossFitFolds For(IEnumerable<string> texts, int count)
    {
        if (count < 2) throw new ArgumentException($"cross-fitting needs at least 2 folds, not {count}", nameof(count));
        var documents = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            var key = Key(text);
            documents[key] = Assign(key, count);
        }
        return new CrossFitFolds(count, documents);
    }

    /// <summary>The fold whose model never saw <paramref name="text"/>, or null when the proxy did not train on it (score
    /// it with the proxy itself).</summary>
    public int? FoldOf(string text) => _documents.TryGetValue(Key(text), out var fold) ? fold : null;

    /// <summary>The model directory of fold <paramref name="fold"/> in a checkpoint.</summary>
    public static string ModelDirectory(string checkpoint, int fold) =>
        Path.Combine(checkpoint, DirectoryName, fold.ToString(CultureInfo.InvariantCulture));

    /// <summary>Writes the manifest into the checkpoint's folds directory (atomically; write it after the fold models, so a
    /// manifest means every fold model is complete).</summary>
    public void Save(string checkpoint)
    {
        var directory = Path.Combine(checkpoint, DirectoryName);
        Directory.CreateDirectory(directory);
        var documents = new JsonObject();
        foreach (var (key, fold) in _documents.OrderBy(d => d.Key, StringComparer.Ordinal)) documents[key] = fold;
        var json = new JsonObject { ["folds"] = Count, ["key"] = "sha256-128 of the UTF-8 text", ["documents"] = documents };
        AtomicFile.WriteAllText(Path.Combine(directory, ManifestFile), json.ToJsonString());
    }

    /// <summary>The folds of a checkpoint, or null when it has none (no manifest).</summary>
    /// <exception cref="InvalidDataException">The manifest is malformed or a fold's model is missing.</exception>
    public static CrossFitFolds? Load(string checkpoint)
    {
        var path = Path.Combine(checkpoint, DirectoryName, ManifestFile);
        if (!File.Exists(path)) return null;
        CrossFitFolds folds;
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            var documents = root["documents"]!.AsObject().ToDictionary(d => d.Key, d => d.Value!.GetValue<int>());
            folds = new CrossFitFolds(root["folds"]!.GetValue<int>(), documents);
        }
        catch (Exception e) when (e is JsonException or NullReferenceException or InvalidOperationException or FormatException
                                       or ArgumentException)
        {
            throw new InvalidDataException($"{path} is not a cross-fitting manifest: {e.Message}", e);
        }
        for (var k = 0; k < folds.Count; k++)
        {
            var model = Path.Combine(ModelDirectory(checkpoint, k), Checkpoint.ModelFile);
            if (!File.Exists(model)) throw new InvalidDataException($"{path} names {folds.Count} folds but {model} does not exist");
        }
        return folds;
    }
}
