#!/usr/bin/env bash
# Tokenizer benchmark: byte-level BPE training time and encode throughput (MB/s of UTF-8 input) on ONE core, and
# GPT-2's vocabulary encoded by the project's encoder and by Microsoft.ML.Tokenizers in the same process (the reference).
# Text: synthetic English-like text generated deterministically by the product (no download, works from a fresh
# clone), and the repository's own Markdown as a small sample of real English prose.
# Usage: bench/tokenizer.bench.sh [--corpus PATH]   (a corpus of your own replaces the synthetic text)
# Writes bench/results/tokenizer.json and bench/results/tokenizer.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
config=${CONFIG:-Release}
out="$root/bench/results"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
corpus=""
if [ "${1:-}" = "--corpus" ]; then corpus=${2:?--corpus needs a path}; fi

dll="$root/src/Cli/bin/$config/net10.0/reweight.dll"
[ -f "$dll" ] || { echo "build first: make build" >&2; exit 1; }
# Pin to one core so the figure is single-core throughput (the encoder is single-threaded; this also keeps
# the runtime's background threads off a second core).
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)

if [ -n "$corpus" ]; then
  "${pin[@]}" dotnet "$dll" tokenizer bench --corpus "$corpus" --json "$tmp/main.json"
else
  "${pin[@]}" dotnet "$dll" tokenizer bench --train-mb 8 --encode-mb 16 --json "$tmp/main.json"
fi

# GPT-2's vocabulary: our encoder and the library's on the same held-out text, in one invocation.
if [ -n "$corpus" ]; then
  "${pin[@]}" dotnet "$dll" tokenizer bench --tokenizer gpt2 --corpus "$corpus" --json "$tmp/gpt2.json"
else
  "${pin[@]}" dotnet "$dll" tokenizer bench --tokenizer gpt2 --train-mb 0.01 --encode-mb 16 --json "$tmp/gpt2.json"
fi

# Real prose: every tracked Markdown file, trained on and encoded (small, so the cache is warm quickly).
(cd "$root" && git ls-files '*.md' ':!bench/results/*' 2>/dev/null | xargs -r cat) > "$tmp/markdown.txt" || true
if [ -s "$tmp/markdown.txt" ]; then
  "${pin[@]}" dotnet "$dll" tokenizer bench --corpus "$tmp/markdown.txt" --vocab-size 2048 --train-mb 1 --encode-mb 1 --json "$tmp/markdown.json"
fi

python3 - "$tmp" "$out" <<'PY'
import json, os, platform, sys, datetime
tmp, out = sys.argv[1], sys.argv[2]
main = json.load(open(os.path.join(tmp, "main.json")))
md_path = os.path.join(tmp, "markdown.json")
markdown = json.load(open(md_path)) if os.path.exists(md_path) else None
gpt2 = json.load(open(os.path.join(tmp, "gpt2.json")))
if markdown: markdown["text"] = "the repository's tracked Markdown files (real English prose, mixed with code snippets)"
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
res = {
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "machine": {"cpu": cpu, "nproc": os.cpu_count(), "memory_gb": mem_gb, "os": platform.platform()},
    "pinned_to_one_core": True,
    "load_average_1min_at_end": round(os.getloadavg()[0], 2),
    "main": main,
    "markdown": markdown,
    "gpt2": gpt2,
}
json.dump(res, open(os.path.join(out, "tokenizer.json"), "w"), indent=2)
def rows(r):
    e = r["encode"]
    t = r.get("train")
    train = f"{t['megabytes']} MB → {t['vocab_size']} ids in {t['seconds']} s" if t else "loaded"
    return (f"| {r['text']} | {train} | {e['megabytes']} | {e['bytes_per_token']} | "
            f"{e['mb_per_s_fresh_cache']} | {e['mb_per_s_warm_cache']} | {e['mb_per_s_no_cache']} |")
lines = [rows(main)] + ([rows(markdown)] if markdown else [])
md = f"""# Tokenizer benchmark

Measured {res['date']} on {cpu}, {res['machine']['nproc']} cores, {mem_gb} GB RAM ({res['machine']['os']});
1-minute load average {res['load_average_1min_at_end']} at the end (above 1, other work shared the machine: compare
figures within one run, not across runs).
Encoding runs on one thread, pinned to one core. Throughput is MB (10^6 bytes) of UTF-8 input per second over
the held-out text: with a fresh word cache (empty at the start, filling as it goes: what a newly started scorer
sees), a warm cache (second pass), and with the cache off.

| text | training | encoded MB | bytes/token | MB/s fresh cache | MB/s warm cache | MB/s no cache |
|---|---|---|---|---|---|---|
{chr(10).join(lines)}

## GPT-2's vocabulary: our encoder and Microsoft.ML.Tokenizers

The same held-out text ({gpt2['text']}, {gpt2['encode']['megabytes']} MB, {gpt2['encode']['documents']} documents) encoded
with GPT-2's 50,257-id vocabulary by the project's encoder (`--tokenizer gpt2`) and by {gpt2['library']['name']}
(`TiktokenTokenizer.CreateForModel("gpt2")`, its default 8,192-word cache), one after the other in one process on one
core. Ratios compare the two within this run.

| encoder | tokens | MB/s fresh cache | MB/s warm cache | MB/s no cache |
|---|---|---|---|---|
| project (`BpeTokenizer`, GPT-2 vocabulary) | {gpt2['encode']['tokens']} | {gpt2['encode']['mb_per_s_fresh_cache']} | {gpt2['encode']['mb_per_s_warm_cache']} | {gpt2['encode']['mb_per_s_no_cache']} |
| {gpt2['library']['name']} | {gpt2['library']['tokens']} | {gpt2['library']['mb_per_s_fresh_cache']} | {gpt2['library']['mb_per_s_warm_cache']} | — |
| library ÷ project | | {gpt2['library_to_project']['fresh_cache']} | {gpt2['library_to_project']['warm_cache']} | |

Documents with identical ids: {gpt2['library']['identical_documents']} of {gpt2['encode']['documents']}.

{"The Markdown sample is small (" + str(round(markdown["encode"]["megabytes"]*1000)) + " kB), so its figures include JIT warm-up and timer noise; read it as a sanity check on real prose, not a measurement." if markdown else ""}

Goal: at least 2 MB/s on one core. Met (fresh cache and no cache both ≥ 2): {main['goal_2_mb_per_s_met']}.
The synthetic text is English-like, not English: a Zipf-distributed head of common words plus a long tail of invented
words; see `SyntheticEnglish` in src/Text/Corpus. Reproduce with `make bench` or `bench/tokenizer.bench.sh`
after `make build`; `bench/tokenizer.bench.sh --corpus FILE.jsonl` measures on your own corpus.
"""
open(os.path.join(out, "tokenizer.md"), "w").write(md)
print(md)
PY
