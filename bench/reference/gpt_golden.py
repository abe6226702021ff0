"""Writes the GPT golden file, in llm.c's manner: a tiny GPT-2 (gpt_reference.GPT, whose parameter names are
GptModel's), seeded weights, a fixed batch of token ids and targets, and what PyTorch computes from them in float64:
the logits, the loss and the gradient of every parameter. tests/Modeling.Tests checks the C# model against the file
(GoldenGptTests), in float64 and in float32; the file is checked in, so no test needs Python.

    /usr/bin/python3 bench/reference/gpt_golden.py        # Debian's python3-torch; rewrites the two files below

Writes OUT/gpt_golden.safetensors and OUT/gpt_golden.md (OUT: tests/Modeling.Tests/Golden). Tensors:
  param.NAME   float32, the weights, GptModel's names and (out, in) layout
  grad.NAME    float64, d loss / d param.NAME
  ids, targets int64 (B, T); one target is -100 (GptModel.IgnoreIndex, padding)
  logits       float64 (B, T, V)
  loss         float64 scalar: the mean of the (B, T) token losses, the padded position counting 0, as the
               trainer's MeanTokenLossObjective takes it
The header's metadata holds the format version, the config (GPT-2 names, as config.json), the batch shape, the seed and
the torch that wrote it. The reference is float64 computed from the float32 weights, so a float32 run's differences
from it are its own rounding alone."""
import argparse
import hashlib
import json
import math
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # gpt_reference beside this file
from gpt_reference import GPT  # noqa: E402  the benchmarks' PyTorch GPT, named as GptModel

VERSION = "1"
CONFIG = {"vocab_size": 64, "n_positions": 16, "n_layer": 2, "n_head": 2, "n_embd": 32, "layer_norm_epsilon": 1e-5,
          "activation_function": "gelu_new"}
BATCH, SEQ, SEED = 2, 8, 1337
IGNORE_INDEX = -100
# GPT-2's scheme (N(0, std), residual projections scaled by 1/sqrt(2 layers)) with std 0.1 instead of 0.02, so attention
# is far from uniform and GELU works away from its near-linear region; biases and LayerNorm parameters get noise
# instead of 0 and 1, so a bias or norm parameter dropped or misplaced changes the answer.
INIT_STD = 0.1
NOISE_STD = 0.1
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "..", "tests", "Modeling.Tests", "Golden"))

SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}


def initialise_(model, generator, layers):
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = NOISE_STD * torch.randn(p.shape, generator=generator)
            is_norm = name.startswith("ln_") or ".ln_" in name
            if is_norm and name.endswith(".weight"):
                p.copy_(1.0 + noise)
            elif is_norm or name.endswith(".bias"):
                p.copy_(noise)
            elif name.endswith("c_proj.weight"):
                p.copy_(INIT_STD / math.sqrt(2.0 * layers) * torch.randn(p.shape, generator=generator))
            else:
                p.copy_(INIT_STD * torch.randn(p.shape, generator=generator))


def save_safetensors(path, tensors, metadata):
    """The safetensors layout (8-byte little-endian header length, JSON header, raw little-endian data), written here
    so that the script needs torch alone."""
    header = {"__metadata__": metadata}
    chunks, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        data = t.numpy().tobytes()
        header[name] = {"dtype": SAFETENSORS_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # data 8-byte aligned, as the reference writer pads
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for chunk in chunks:
            f.write(chunk)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: tests/Modeling.Tests/Golden)")
    a = p.parse_args()
    torch.set_num_threads(1)  # one summation order, so the same torch writes the same bytes

    c = CONFIG
    model = GPT(c["vocab_size"], c["n_positions"], c["n_layer"], c["n_head"], c["n_embd"])
    g = torch.Generator().manual_seed(SEED)
    initialise_(model, g, c["n_layer"])
    weights = {name: p.detach().clone() for name, p in model.named_parameters()}  # float32, as stored
    ids = torch.randint(0, c["vocab_size"], (BATCH, SEQ), generator=g)
    targets = torch.randint(0, c["vocab_size"], (BATCH, SEQ), generator=g)
    targets[1, -1] = IGNORE_INDEX

    model = model.double()
    logits = model.logits(ids)  # (B, T, V)
    loss = model.token_losses(ids, targets).mean()
    loss.backward()

    tensors = {"ids": ids, "targets": targets, "logits": logits.detach(), "loss": loss.detach()}
    for name, p in model.named_parameters():
        tensors["param." + name] = weights[name]
        tensors["grad." + name] = p.grad
    metadata = {"format": "reweighting-gpt-golden", "version": VERSION, "config": json.dumps(c),
                "batch": str(BATCH), "seq": str(SEQ), "seed": str(SEED), "torch": torch.__version__,
                "loss": "mean of the (B, T) token losses, padding (target -100) counting 0"}
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "gpt_golden.safetensors")
    save_safetensors(path, tensors, metadata)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    size = os.path.getsize(path)

    params = sum(w.numel() for w in weights.values())
    note = f"""# GPT golden file

`gpt_golden.safetensors` ({size:,} bytes, sha256 `{digest}`) was written by `bench/reference/gpt_golden.py`
(format version {VERSION}) with PyTorch {torch.__version__}:

    /usr/bin/python3 bench/reference/gpt_golden.py

| | |
| --- | --- |
| config | vocab {c['vocab_size']}, context {c['n_positions']}, {c['n_layer']} layers, {c['n_head']} heads, embedding {c['n_embd']} ({params:,} parameters) |
| architecture | GPT-2: pre-LayerNorm blocks (eps {c['layer_norm_epsilon']}), causal attention scaled by 1/sqrt(head size), tanh GELU, biases everywhere, head tied to `wte` |
| batch | {BATCH} x {SEQ} token ids, seed {SEED}; target [1, {SEQ - 1}] is -100 (padding) |
| weights | float32, N(0, {INIT_STD}) (residual projections / sqrt(2 layers)); biases and LayerNorm parameters with N(0, {NOISE_STD}) noise |
| expected | float64 from the float32 weights: logits (B, T, V), loss (mean of the B x T token losses, padding counting 0), `grad.NAME` for every parameter |

`GoldenGptTests` in `tests/Modeling.Tests` loads the weights into `GptModel`, runs forward and backward on the same
batch in float64 and in float32, and compares every tensor by name with the tolerances named there.
"""
    with open(os.path.join(a.out, "gpt_golden.md"), "w") as f:
        f.write(note)
    print(f"wrote {path} ({size:,} bytes, {len(tensors)} tensors, torch {torch.__version__}); loss {loss.item():.6f}")


if __name__ == "__main__":
    main()
