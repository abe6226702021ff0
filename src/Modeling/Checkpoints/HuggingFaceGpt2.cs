using System.Text.Json;
using System.Text.Json.Nodes;
using Reweighting.Modeling.Gpt;
using Reweighting.Torch;
using static Reweighting.Torch.Torch;

namespace Reweighting.Modeling.Checkpoints;

/// <summary>Imports and exports Hugging Face GPT-2 checkpoints (<c>config.json</c> + <c>model.safetensors</c>, names
/// <c>transformer.h.N...</c>). GPT-2's Conv1D layers store weights as (in, out); they are transposed into
/// the (out, in) layout of linear layers and back. The LM head is tied to the token embedding.</summary>
public static class HuggingFaceGpt2
{
    // Conv1D weights: transposed on import and on export.
    private static readonly string[] Conv1DSuffixes = [".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight"];

    private const string Prefix = "transformer.";

    /// <summary>Reads a Hugging Face GPT-2 directory into a model (on <paramref name="device"/>, default the CPU).</summary>
    public static GptModel Import(string directory, Device? device = null)
    {
        var configPath = Path.Combine(directory, "config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{directory} has no config.json", configPath);
        var json = File.ReadAllText(configPath);
        var config = GptConfig.FromJson(json);
        RefuseUnsupportedVariants(json, config);
        var path = Path.Combine(directory, "model.safetensors");
        if (!File.Exists(path))
            throw new FileNotFoundException($"{directory} has no model.safetensors (pytorch_model.bin pickles are not supported; save with safe_serialization)", path);
        var (tensors, _) = SafeTensors.Load(path);
        var model = new GptModel(config);
        try
        {
            using var scope = DisposeScope.Open();
            var mapped = new Dictionary<string, Tensor>();
            Tensor? lmHead = null;
            foreach (var (name, tensor) in tensors)
            {
                var local = name.StartsWith(Prefix, StringComparison.Ordinal) ? name[Prefix.Length..] : name;
                if (local.EndsWith(".attn.bias", StringComparison.Ordinal) || local.EndsWith(".attn.masked_bias", StringComparison.Ordinal))
                    continue; // causal-mask buffers of old checkpoints, not parameters
                if (local == "lm_head.weight")
                {
                    lmHead = tensor;
                    continue;
                }
                mapped[local] = IsConv1D(local) ? tensor.Transpose(0, 1).Contiguous() : tensor;
            }
            if (lmHead is not null && mapped.TryGetValue("wte.weight", out var wte) && !lmHead.Eq(wte).All().ToInt64().Equals(1L))
                throw new InvalidDataException("the checkpoint's lm_head differs from its token embedding; only tied GPT-2 heads are supported");
            model.LoadStateDict(mapped);
            if (device is { } d) model.To(d);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>Writes <paramref name="model"/> as <c>save_pretrained</c> does: <c>config.json</c> in GPT2Config's names and
    /// <c>model.safetensors</c> with <c>transformer.</c> names, Conv1D weights as (in, out) and no <c>lm_head.weight</c>
    /// (tied to <c>transformer.wte.weight</c>, which transformers drops on saving and re-ties on loading).</summary>
    public static void Export(GptModel model, string directory)
    {
        Directory.CreateDirectory(directory);
        using var scope = DisposeScope.Open();
        var tensors = new Dictionary<string, Tensor>();
        ScalarType? dtype = null;
        foreach (var (name, tensor) in model.StateDict())
        {
            var cpu = tensor.Detach().Cpu();
            tensors[Prefix + name] = IsConv1D(name) ? cpu.Transpose(0, 1).Contiguous() : cpu.Contiguous();
            dtype ??= tensor.DType;
        }
        SafeTensors.Save(Path.Combine(directory, "model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(directory, "config.json"), ConfigJson(model.Config, dtype ?? ScalarType.Float32));
    }

    /// <summary>A GPT2Config as transformers writes it: the sizes under GPT-2's names plus the fields that pin the
    /// variant this product implements (4× MLP, attention scaled by 1/√head size, tied head, tanh GELU).</summary>
    private static string ConfigJson(GptConfig config, ScalarType dtype)
    {
        var o = (JsonObject)JsonNode.Parse(config.ToJson())!;
        o["architectures"] = new JsonArray("GPT2LMHeadModel");
        o["n_ctx"] = config.ContextLength;
        o["n_inner"] = null;
        o["initializer_range"] = 0.02;
        o["scale_attn_weights"] = true;
        o["scale_attn_by_inverse_layer_idx"] = false;
        o["reorder_and_upcast_attn"] = false;
        o["use_cache"] = true;
        o["torch_dtype"] = dtype switch { ScalarType.BFloat16 => "bfloat16", ScalarType.Float16 => "float16", _ => "float32" };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>GPT2Config options that change the computation in ways this model does not implement: importing such a
    /// checkpoint would load without error and compute something else.</summary>
    private static void RefuseUnsupportedVariants(string json, GptConfig config)
    {
        var o = (JsonObject)JsonNode.Parse(json)!;
        if (o["n_inner"] is { } inner && inner.GetValueKind() != JsonValueKind.Null && inner.GetValue<int>() != 4 * config.Embedding)
            throw new InvalidDataException($"n_inner {inner.GetValue<int>()} is not supported: the MLP is 4 × n_embd = {4 * config.Embedding} wide");
        if (o["scale_attn_weights"] is { } scale && scale.GetValueKind() == JsonValueKind.False)
            throw new InvalidDataException("scale_attn_weights false is not supported: attention scores are always scaled by 1/√(head size)");
        if (o["scale_attn_by_inverse_layer_idx"] is { } byLayer && byLayer.GetValueKind() == JsonValueKind.True)
            throw new InvalidDataException("scale_attn_by_inverse_layer_idx true is not supported");
        if (o["add_cross_attention"] is { } cross && cross.GetValueKind() == JsonValueKind.True)
            throw new InvalidDataException("add_cross_attention true is not supported: only decoder-only GPT-2 is");
    }

    private static bool IsConv1D(string name) => Conv1DSuffixes.Any(s => name.EndsWith(s, StringComparison.Ordinal));
}
