using Reweighting.Modeling.Gpt;
using Reweighting.Torch;
using static Reweighting.Torch.Torch;

namespace Reweighting.Modeling.Checkpoints;

/// <summary>Imports Hugging Face GPT-2 checkpoints (<c>config.json</c> + <c>model.safetensors</c>, names
/// <c>transformer.h.N...</c>). GPT-2's Conv1D layers store weights as (in, out); they are transposed into
/// the (out, in) layout of linear layers. The LM head is tied to the token embedding.</summary>
public static class HuggingFaceGpt2
{
    // Conv1D weights: transposed on import.
    private static readonly string[] Conv1DSuffixes = [".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight"];

    public static GptModel Import(string directory, Device? device = null)
    {
        var config = GptConfig.FromJson(File.ReadAllText(Path.Combine(directory, "config.json")));
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
                var local = name.StartsWith("transformer.", StringComparison.Ordinal) ? name["transformer.".Length..] : name;
                if (local.EndsWith(".attn.bias", StringComparison.Ordinal) || local.EndsWith(".attn.masked_bias", StringComparison.Ordinal))
                    continue; // causal-mask buffers of old checkpoints, not parameters
                if (local == "lm_head.weight")
                {
                    lmHead = tensor;
                    continue;
                }
                mapped[local] = Conv1DSuffixes.Any(s => local.EndsWith(s, StringComparison.Ordinal)) ? tensor.Transpose(0, 1).Contiguous() : tensor;
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
}
