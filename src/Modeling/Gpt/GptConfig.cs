using System.Text.Json;
using System.Text.Json.Nodes;

namespace Reweighting.Modeling.Gpt;

/// <summary>Sizes of a GPT-2 style model. Serialised with GPT-2's own names (vocab_size, n_layer, n_head,
/// n_embd, n_positions) so config.json files interoperate with other tools.</summary>
public sealed record GptConfig(
    int VocabSize,
    int ContextLength,
    int Layers,
    int Heads,
    int Embedding,
    double Dropout = 0.0,
    double LayerNormEps = 1e-5)
{
    /// <summary>Dimension of one attention head.</summary>
    public int HeadSize => Embedding / Heads;

    /// <summary>Checks the sizes; throws with the offending field.</summary>
    public GptConfig Validate()
    {
        if (VocabSize < 1) throw new ArgumentException($"vocab_size must be positive, got {VocabSize}");
        if (ContextLength < 1) throw new ArgumentException($"n_positions must be positive, got {ContextLength}");
        if (Layers < 1) throw new ArgumentException($"n_layer must be positive, got {Layers}");
        if (Heads < 1 || Embedding < 1 || Embedding % Heads != 0)
            throw new ArgumentException($"n_embd ({Embedding}) must be a positive multiple of n_head ({Heads})");
        if (Dropout is < 0 or >= 1) throw new ArgumentException($"dropout must be in [0, 1), got {Dropout}");
        return this;
    }

    /// <summary>Named presets: <c>tiny</c> (tests), <c>gpt2-small</c> (124M, the proxy), <c>gpt2-medium</c> (355M).</summary>
    public static GptConfig Preset(string name, int vocabSize) => name switch
    {
        "tiny" => new GptConfig(vocabSize, 64, 2, 4, 64),
        "gpt2-small" => new GptConfig(vocabSize, 1024, 12, 12, 768),
        "gpt2-medium" => new GptConfig(vocabSize, 1024, 24, 16, 1024),
        "gpt2-large" => new GptConfig(vocabSize, 1024, 36, 20, 1280),
        _ => throw new ArgumentException($"unknown preset '{name}' (known: {string.Join(", ", PresetNames)})"),
    };

    public static readonly IReadOnlyList<string> PresetNames = ["tiny", "gpt2-small", "gpt2-medium", "gpt2-large"];

    /// <summary>The config as GPT-2 style JSON.</summary>
    public string ToJson()
    {
        var o = new JsonObject
        {
            ["model_type"] = "gpt2",
            ["vocab_size"] = VocabSize,
            ["n_positions"] = ContextLength,
            ["n_layer"] = Layers,
            ["n_head"] = Heads,
            ["n_embd"] = Embedding,
            ["resid_pdrop"] = Dropout,
            ["embd_pdrop"] = Dropout,
            ["attn_pdrop"] = Dropout,
            ["layer_norm_epsilon"] = LayerNormEps,
            ["activation_function"] = "gelu_new",
            ["tie_word_embeddings"] = true,
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Reads GPT-2 style JSON (ours or a Hugging Face config.json).</summary>
    public static GptConfig FromJson(string json)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"config.json is not valid JSON: {e.Message}", e);
        }
        if (root is not JsonObject o) throw new InvalidDataException("config.json must hold a JSON object");
        int Int(string name, string? fallback = null)
        {
            var node = o[name] ?? (fallback is null ? null : o[fallback]);
            return node?.GetValue<int>() ?? throw new InvalidDataException($"config.json lacks '{name}'");
        }
        double Real(string name, double dflt) => o[name]?.GetValue<double>() ?? dflt;
        var activation = o["activation_function"]?.GetValue<string>() ?? "gelu_new";
        if (activation is not ("gelu_new" or "gelu_pytorch_tanh"))
            throw new InvalidDataException($"activation_function '{activation}' is not supported (GPT-2 uses gelu_new, the tanh approximation)");
        return new GptConfig(Int("vocab_size"), Int("n_positions", "n_ctx"), Int("n_layer"), Int("n_head"), Int("n_embd"),
            Real("resid_pdrop", 0), Real("layer_norm_epsilon", 1e-5)).Validate();
    }
}
