#!/usr/bin/env python3
"""A re-implementation of the document-level noise detector (src/Reweighting/Gmm/ReferenceNovelty.cs) for trying
ranking scores and thresholds on the cells of scripts/label-eval.sh without rebuilding the product. It reproduces the
product's precision, recall, ROC-AUC and AP on every cell (compare with `scripts/label-eval.sh --evaluate`). Needs
numpy (Debian: python3-numpy); a benchmark-side tool, never a runtime dependency. It uses every stream document
for the stream density, where the product subsamples streams of more than 2,000 (no cell here has more).

Usage: scripts/label-prototype.py OUTDIR [alpha=0.1] [factor=1.25] [post=0.8] [bw=1.0]
Prints, per cell under OUTDIR/<corpus>/<families>-<pct>/, the label's precision, recall and F1 and each ranking
score's ROC-AUC / AP, then the worst case over the tuning and the held-out cells."""
import glob, json, math, os, sys
import numpy as np

def load(path):
    return [json.loads(l) for l in open(path) if l.strip()]

def features(r):
    lpb = r["loss_mean"] * r["n_tokens"] / r["n_bytes"]
    return [lpb, math.log(r["n_bytes"] / r["n_tokens"]), r["loss_mean"], math.log(r["loss_var"]),
            math.log(r["compression_ratio"]), math.log(max(r["order_gain"], 0.001))]

def scale_of(ref):
    med = np.median(ref, axis=0)
    mad = 1.4826 * np.median(np.abs(ref - med), axis=0)
    std = ref.std(axis=0)
    return np.where(mad > 1e-12, mad, std)

def knn_mean(z, ref, k=3, skip=None):
    d = np.sqrt(((z[:, None, :] - ref[None, :, :]) ** 2).sum(-1))
    if skip is not None:
        d[np.arange(len(z)), skip] = np.inf
    d.sort(axis=1)
    return d[:, :k].mean(1)

class Detector:
    def __init__(self, ref, stream, alpha=0.1, factor=1.25, post=0.8, bw=1.0, k=3):
        self.s = scale_of(ref)
        self.r = ref / self.s
        self.st = stream / self.s
        self.k, self.bw, self.post = k, bw, post
        loo = knn_mean(self.r, self.r, k, skip=np.arange(len(self.r)))
        self.loo = np.sort(loo)
        self.thr = factor * np.quantile(self.loo, 1 - alpha)
        sd = self.distance(stream)
        est = [max(0, ((sd > np.quantile(self.loo, q)).mean() - (1 - q)) / q) for q in (0.5, 0.75, 0.9)]
        self.pi = min(float(np.median(est)), 0.95)

    def distance(self, x):
        return knn_mean(x / self.s, self.r, self.k)

    def densities(self, x):
        z = x / self.s
        tw = 2 * self.bw ** 2
        dr = ((z[:, None, :] - self.r[None]) ** 2).sum(-1)
        ref = np.exp(-dr / tw).mean(1)
        ds = ((z[:, None, :] - self.st[None]) ** 2).sum(-1)
        e = np.exp(-ds / tw)
        e[ds == 0] = 0
        n = (ds != 0).sum(1)
        stream = e.sum(1) / np.maximum(n, 1)
        return ref, stream

    def posterior(self, x):
        ref, stream = self.densities(x)
        p = np.where(stream > 0, 1 - (1 - self.pi) * ref / np.where(stream > 0, stream, 1), np.where(ref > 0, 0, 1))
        return np.clip(p, 0, 1)

def roc_auc(y, s):
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s)); 
    # average ranks for ties
    sv = s[order]; i = 0; r = np.empty(len(s))
    while i < len(s):
        j = i
        while j + 1 < len(s) and sv[j + 1] == sv[i]: j += 1
        r[i:j + 1] = (i + j) / 2 + 1; i = j + 1
    ranks[order] = r
    npos = y.sum(); nneg = len(y) - npos
    return (ranks[y == 1].sum() - npos * (npos + 1) / 2) / (npos * nneg)

def average_precision(y, s):
    order = np.argsort(-s, kind="mergesort")
    yy = y[order]
    tp = np.cumsum(yy); prec = tp / np.arange(1, len(yy) + 1)
    return (prec * yy).sum() / yy.sum()

def cell(dirpath, scores="scores.jsonl", refscores="reference-scores.jsonl"):
    docs = {d["id"]: d for d in load(f"{dirpath}/noisy.jsonl")}
    st = load(f"{dirpath}/{scores}")
    ref = np.array([features(r) for r in load(f"{dirpath}/{refscores}")])
    X = np.array([features(r) for r in st])
    y = np.array([1 if docs[r["id"]].get("label") == "noisy" else 0 for r in st])
    fam = [docs[r["id"]].get("noise_type") for r in st]
    return X, y, ref, st, fam

def evaluate(path, scores="scores.jsonl", refscores="reference-scores.jsonl", **kw):
    X, y, ref, st, fam = cell(path, scores, refscores)
    det = Detector(ref, X, **kw)
    dist = det.distance(X)
    post = det.posterior(X)
    label = (post > det.post) & (dist > det.thr)
    tp = (label & (y == 1)).sum()
    prec = tp / max(label.sum(), 1); rec = tp / y.sum()
    out = dict(pi=det.pi, n=len(y), noisy=int(y.sum()), flagged=int(label.sum()), precision=prec, recall=rec,
               f1=2 * prec * rec / max(prec + rec, 1e-12))
    h = dist / (dist + det.thr)
    variants = {
        "distance": dist,
        "posterior_tb": post + 1e-3 * h,
        "dist_x_post": dist * post,
        "label_first": label.astype(float) + h,
        "mean_loss": X[:, 2],
        "loss_per_byte": X[:, 0],
    }
    for name, s in variants.items():
        out[name] = (roc_auc(y, s), average_precision(y, s))
    return out

def main():
    root = sys.argv[1]
    kw = {}
    for a in sys.argv[2:]:
        k, v = a.split("="); kw[k] = float(v)
    rows = {}
    for d in sorted(glob.glob(f"{root}/*/*-*")):
        if not os.path.exists(f"{d}/reference-scores.jsonl"): continue
        name = os.path.relpath(d, root)
        rows[name] = evaluate(d, **kw)
    variants = ["distance", "posterior_tb", "dist_x_post", "label_first", "mean_loss", "loss_per_byte"]
    print(f"{'cell':28s} {'P':>6s} {'R':>6s} {'F1':>6s} " + " ".join(f"{v[:12]:>13s}" for v in variants))
    for n, o in rows.items():
        print(f"{n:28s} {o['precision']:6.3f} {o['recall']:6.3f} {o['f1']:6.3f} " + " ".join(f"{o[v][0]:.3f}/{o[v][1]:.3f}" for v in variants))
    for grp in ("tune", "heldout"):
        sel = [o for n, o in rows.items() if f"/{grp}-" in n]
        if not sel: continue
        print(f"worst {grp:7s} ({len(sel)}) F1 {min(o['f1'] for o in sel):.3f} mean F1 {np.mean([o['f1'] for o in sel]):.3f} "
              + " ".join(f"{v}: AUC {min(o[v][0] for o in sel):.3f} AP {min(o[v][1] for o in sel):.3f}" for v in variants))


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if len(sys.argv) >= 2 else 2)
    main()
