"""PyTorch reference for `reweight bench gpu`: the same GPT-2 models, batches and optimiser step, written as good
PyTorch training code is written for a GPU (bfloat16 autocast, scaled_dot_product_attention, fused AdamW, pinned host
batches copied asynchronously), eager or under torch.compile. Timed like the binding: the median over repeated
scoring batches, and per optimiser step over the timed steps. Used only for comparison in benchmarks."""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt_reference import GPT, PRESETS  # noqa: E402  the same architecture as `bench model`'s reference


class Losses(torch.nn.Module):
    """token_losses as a module's forward, so torch.compile can take the whole model."""

    def __init__(self, gpt):
        super().__init__()
        self.gpt = gpt

    def forward(self, ids, targets):
        return self.gpt.token_losses(ids, targets)


def pinned_batches(vocab, rows, seq, count, seed):
    g = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(count):
        ids = torch.randint(0, vocab, (rows, seq), generator=g)
        targets = torch.randint(0, vocab, (rows, seq), generator=g)
        if torch.cuda.is_available():
            ids, targets = ids.pin_memory(), targets.pin_memory()
        batches.append((ids, targets))
    return batches


def build(preset, vocab, device, mode):
    ctx, layers, heads, c = PRESETS[preset]
    gpt = GPT(vocab, ctx, layers, heads, c).to(device)
    module = Losses(gpt)
    run = torch.compile(module) if mode == "compile" else module
    return gpt, run


def autocast(device):
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_scoring(a, device):
    gpt, run = build(a.scorer_preset, a.vocab, device, a.mode)
    gpt.eval()
    batches = pinned_batches(a.vocab, a.scorer_batch, a.seq, 2, 0)
    count = [0]

    def score():
        ids, targets = batches[count[0] % len(batches)]
        count[0] += 1
        with torch.no_grad(), autocast(device):
            losses = run(ids.to(device, non_blocking=True), targets.to(device, non_blocking=True))
        return losses.float().cpu()

    for _ in range(3 if a.mode == "compile" else 2):
        score()
    times = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        score()
        times.append(time.perf_counter() - t0)
    params = sum(p.numel() for p in gpt.parameters())
    del gpt, run
    return {"preset": a.scorer_preset, "parameters": params, "batch": a.scorer_batch,
            "tokens_per_s": a.scorer_batch * a.seq / statistics.median(times)}


def measure_training(a, device):
    gpt, run = build(a.trainer_preset, a.vocab, device, a.mode)
    gpt.train()
    decay = [p for n, p in gpt.named_parameters() if n.endswith("weight") and (".attn." in n or "c_fc" in n or ".c_proj" in n)]
    decay_ids = {id(p) for p in decay}
    no_decay = [p for p in gpt.parameters() if id(p) not in decay_ids]
    fused = device.type == "cuda"
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.95), **({"fused": True} if fused else {}))
    batches = pinned_batches(a.vocab, a.trainer_batch, a.seq, 4, 1)

    def step(i):
        ids, targets = batches[i % len(batches)]
        with autocast(device):
            loss = run(ids.to(device, non_blocking=True), targets.to(device, non_blocking=True)).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(gpt.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    for i in range(3 if a.mode == "compile" else 1):
        step(i)
    sync(device)
    times = []
    for i in range(a.steps):
        t0 = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - t0)
    params = sum(p.numel() for p in gpt.parameters())
    del gpt, run, opt
    return {"preset": a.trainer_preset, "parameters": params, "batch": a.trainer_batch, "fused_adamw": fused,
            "step_seconds": statistics.median(times), "tokens_per_s": a.trainer_batch * a.seq / statistics.median(times)}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--mode", choices=["eager", "compile"], default="eager")
    p.add_argument("--device", default="cuda")
    p.add_argument("--vocab", type=int, default=50257)
    p.add_argument("--seq", type=int, default=1024)
    p.add_argument("--scorer-preset", default="gpt2-small")
    p.add_argument("--scorer-batch", type=int, default=32)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--trainer-preset", default="gpt2-medium")
    p.add_argument("--trainer-batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=7)
    p.add_argument("--skip-training", action="store_true")
    p.add_argument("--json")
    a = p.parse_args()
    device = torch.device(a.device)
    if a.mode == "compile" and not hasattr(torch, "compile"):
        sys.exit(f"error: torch.compile needs PyTorch 2.0 or later (this is {torch.__version__})")
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("error: --device cuda but torch.cuda.is_available() is False")
    started = time.perf_counter()
    result = {"mode": a.mode, "torch": torch.__version__, "device": str(device), "sequence": a.seq, "vocab": a.vocab,
              "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "cuda": torch.version.cuda, "flash_sdp": torch.backends.cuda.flash_sdp_enabled()}
    result["scoring"] = measure_scoring(a, device)
    print(f"reference ({a.mode}) scorer {a.scorer_preset} batch {a.scorer_batch}x{a.seq}: "
          f"{result['scoring']['tokens_per_s']:.0f} tokens/s", flush=True)
    if not a.skip_training:
        result["training"] = measure_training(a, device)
        print(f"reference ({a.mode}) trainer {a.trainer_preset} batch {a.trainer_batch}x{a.seq}: "
              f"{result['training']['tokens_per_s']:.0f} tokens/s", flush=True)
    result["seconds"] = time.perf_counter() - started
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
