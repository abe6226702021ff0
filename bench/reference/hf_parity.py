"""Reference for `reweight lm parity`: a randomly initialised Hugging Face GPT-2, saved with `save_pretrained`
(safetensors), random token ids, and the per-token losses `transformers` computes for them in float32 (no TF32)
and under bfloat16 autocast.

    python3 bench/reference/hf_parity.py --out /tmp/parity --device cuda
    reweight lm parity --checkpoint /tmp/parity/model --inputs /tmp/parity/inputs.json \
        --expected /tmp/parity/losses.json --device cuda

Writes OUT/model/ (config.json, model.safetensors), OUT/inputs.json ({"ids": [[...], ...]}, B rows of T ids) and
OUT/losses.json ({"float32": [[...]], "bfloat16": [[...]], ...}: B rows of T-1 losses in nats, entry i the loss of
predicting token i+1). Needs torch, transformers and safetensors; no .NET."""
import argparse
import json
import os
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit("error: hf_parity.py needs PyTorch (pip install torch)")
try:
    import transformers
    from transformers import GPT2Config, GPT2LMHeadModel
except ImportError:
    sys.exit("error: hf_parity.py needs Hugging Face transformers (pip install transformers safetensors); "
             "it is the reference this check compares against")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output directory (model/, inputs.json, losses.json)")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--seed", type=int, default=1234)
    # GPT-2 small (124M) by default; smaller shapes for quick runs.
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--d-model", type=int, default=768)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--vocab", type=int, default=50257)
    p.add_argument("--context", type=int, default=1024)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=256, help="tokens per row (at most --context)")
    p.add_argument("--attn-implementation", choices=["eager", "sdpa"],
                   help="attention kernel of transformers (default: whatever transformers picks; recorded in losses.json)")
    p.add_argument("--no-perturb", action="store_true",
                   help="keep GPT-2's initialisation as it is (zero biases, LayerNorm at 1 and 0)")
    a = p.parse_args()
    if a.seq < 2 or a.seq > a.context:
        p.error(f"--seq must be in [2, --context={a.context}], got {a.seq}")
    if a.d_model % a.heads:
        p.error(f"--d-model ({a.d_model}) must be a multiple of --heads ({a.heads})")
    if a.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda, but torch.cuda.is_available() is False")
    return a


def disable_tf32():
    """float32 means float32: no TF32 in matmuls or cuDNN. torch >= 2.9 has the fp32_precision settings and warns
    about the old flags; mixing the two raises, so exactly one of them is used."""
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        matmul.fp32_precision = "ieee"
        settings = {"matmul": matmul.fp32_precision}
        conv = getattr(torch.backends.cudnn, "conv", None)
        if conv is not None and hasattr(conv, "fp32_precision"):
            conv.fp32_precision = "ieee"
            settings["cudnn_conv"] = conv.fp32_precision
        return settings
    matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return {"matmul_allow_tf32": matmul.allow_tf32, "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32}


def perturb_(model, generator):
    """GPT-2's initialisation leaves every bias at zero and every LayerNorm at (1, 0), so a bias or LayerNorm
    parameter loaded into the wrong place would change nothing. Noise on them makes the check see each one."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias") or ".ln_" in name:
                p.add_(0.05 * torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device))


def token_losses(model, ids):
    """(B, T-1) losses: logits at positions 0..T-2 against the ids at 1..T-1, in float32."""
    logits = model(input_ids=ids).logits  # (B, T, V), bfloat16 under autocast
    b, t, v = logits.shape
    shifted = logits[:, :-1, :].float().reshape(-1, v)
    return F.cross_entropy(shifted, ids[:, 1:].reshape(-1), reduction="none").view(b, t - 1)


def main():
    a = parse_args()
    torch.manual_seed(a.seed)
    tf32 = disable_tf32()
    config = GPT2Config(vocab_size=a.vocab, n_positions=a.context, n_embd=a.d_model, n_layer=a.layers, n_head=a.heads,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        **({"attn_implementation": a.attn_implementation} if a.attn_implementation else {}))
    model = GPT2LMHeadModel(config)  # random initialisation, drawn from torch.manual_seed
    if not a.no_perturb:
        perturb_(model, torch.Generator().manual_seed(a.seed + 1))
    model = model.float().eval()

    model_dir = os.path.join(a.out, "model")
    os.makedirs(model_dir, exist_ok=True)
    # transformers 5 writes safetensors only (its safe_serialization argument is gone); 4.x defaults to it.
    model.save_pretrained(model_dir)
    weights = os.path.join(model_dir, "model.safetensors")
    if not os.path.exists(weights):
        sys.exit(f"error: save_pretrained wrote no {weights} (files: {sorted(os.listdir(model_dir))}); "
                 "reweight imports a single safetensors file")

    ids = torch.randint(0, a.vocab, (a.batch, a.seq), generator=torch.Generator().manual_seed(a.seed + 2))
    with open(os.path.join(a.out, "inputs.json"), "w") as f:
        json.dump({"ids": ids.tolist()}, f)

    model = model.to(a.device)
    ids = ids.to(a.device)
    with torch.no_grad():
        fp32 = token_losses(model, ids)
        with torch.autocast(a.device, dtype=torch.bfloat16):
            bf16 = token_losses(model, ids)

    for name, losses in (("float32", fp32), ("bfloat16", bf16)):
        if not torch.isfinite(losses).all():  # json would write NaN, which is not JSON
            sys.exit(f"error: transformers' {name} losses are not all finite; nothing to compare against")

    attn = getattr(model.config, "_attn_implementation", None) or "unset"
    result = {
        "float32": fp32.cpu().tolist(),
        "bfloat16": bf16.float().cpu().tolist(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": torch.cuda.get_device_name() if a.device == "cuda" else "cpu",
        "attn_implementation": attn,
        "tf32": tf32,
        "seed": a.seed,
        "perturbed": not a.no_perturb,
        "shape": {"layers": a.layers, "d_model": a.d_model, "heads": a.heads, "vocab": a.vocab, "context": a.context,
                  "batch": a.batch, "seq": a.seq},
    }
    with open(os.path.join(a.out, "losses.json"), "w") as f:
        json.dump(result, f)
    print(f"wrote {model_dir}, inputs.json and losses.json to {a.out} (transformers {transformers.__version__}, "
          f"torch {torch.__version__}, {result['device']}, attention {attn}); "
          f"float32 vs bfloat16 max |diff| {(fp32 - bf16.float()).abs().max().item():.3e}")


if __name__ == "__main__":
    main()
