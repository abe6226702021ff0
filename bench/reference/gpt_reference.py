"""PyTorch reference for `reweight bench model`: the same GPT-2 architecture, batch and optimiser, timed the
same way (median of repeated steps after one warm-up). Used only for comparison: by the benchmarks, and by
gpt_golden.py, which writes the golden file the C# model is tested against (parameter names match GptModel's)."""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {"tiny": (64, 2, 4, 64), "gpt2-small": (1024, 12, 12, 768), "gpt2-medium": (1024, 24, 16, 1024)}


class Attention(nn.Module):
    def __init__(self, c, nh):
        super().__init__()
        self.nh = nh
        self.c_attn = nn.Linear(c, 3 * c)
        self.c_proj = nn.Linear(c, c)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.nh, c // self.nh).transpose(1, 2) for z in (q, k, v))
        if hasattr(F, "scaled_dot_product_attention"):
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # libtorch < 2.0: the explicit path, as the binding takes there
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
            y = F.softmax(att.masked_fill(~mask, float("-inf")), dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))


class Mlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc, self.c_proj = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, c, nh):
        super().__init__()
        self.ln_1, self.attn, self.ln_2, self.mlp = nn.LayerNorm(c), Attention(c, nh), nn.LayerNorm(c), Mlp(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab, ctx, layers, heads, c):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, c), nn.Embedding(ctx, c)
        self.h = nn.ModuleList(Block(c, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(c)

    def logits(self, ids):
        t = ids.size(1)
        x = self.wte(ids) + self.wpe(torch.arange(t, device=ids.device))
        for block in self.h:
            x = block(x)
        return F.linear(self.ln_f(x), self.wte.weight)  # the head tied to wte

    def token_losses(self, ids, targets):
        """(B, T) losses in nats; a target of -100 (GptModel.IgnoreIndex, padding) gets 0."""
        logits = self.logits(ids)
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), reduction="none").view_as(targets)


def median_seconds(repeats, fn):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="tiny")
    p.add_argument("--vocab", type=int, default=50257)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json")
    a = p.parse_args()
    ctx, layers, heads, c = PRESETS[a.preset]
    model = GPT(a.vocab, ctx, layers, heads, c)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq), generator=g)
    targets = torch.randint(0, a.vocab, (a.batch, a.seq), generator=g)
    tokens = a.batch * a.seq

    model.eval()

    def score():
        with torch.no_grad():
            return model.token_losses(ids, targets).sum().item()

    score()
    scoring = tokens / median_seconds(a.repeats, score)

    model.train()
    decay = [p for n, p in model.named_parameters() if n.endswith("weight") and (".attn." in n or "c_fc" in n or ".c_proj" in n)]
    ids_decay = {id(p) for p in decay}
    no_decay = [p for p in model.parameters() if id(p) not in ids_decay]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-4, betas=(0.9, 0.95))

    def train():
        loss = model.token_losses(ids, targets).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    train()
    training = tokens / median_seconds(a.repeats, train)
    print(f"reference {a.preset}, batch {a.batch}x{a.seq}: scoring {scoring:.0f} tokens/s, training {training:.0f} tokens/s", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"preset": a.preset, "torch": torch.__version__, "threads": torch.get_num_threads(),
                       "scoring_tokens_per_s": scoring, "training_tokens_per_s": training}, f)


if __name__ == "__main__":
    main()
