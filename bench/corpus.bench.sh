#!/usr/bin/env bash
# Corpus read benchmark: MB/s of document text and peak resident memory reading one corpus in every format the product
# reads (JSONL plain, gzip and zstd; Parquet with Snappy and zstd pages), each read in a fresh process, best of 3.
# References in the same invocation: the same Parquet files read by Parquet.Net (the other candidate library, reading
# the same row groups), and the zstd, gzip and cat command-line tools streaming the same files to /dev/null.
# Usage: bench/corpus.bench.sh [MEGABYTES]   (default 200 MB of text; row groups of 10,000 documents, and of 1,000)
# Writes bench/results/corpus-read.json and bench/results/corpus-read.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
config=${CONFIG:-Release}
out="$root/bench/results"
megabytes=${1:-200}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

dotnet build "$root/bench/CorpusRead/CorpusRead.csproj" -c "$config" --nologo -v quiet -clp:ErrorsOnly >&2
bench=("dotnet" "$root/bench/CorpusRead/bin/$config/net10.0/corpus-read-bench.dll")
"${bench[@]}" generate "$tmp/corpus" "$megabytes" 10000

best() {  # best of three runs of a read, as one JSON line
  local runs=()
  for _ in 1 2 3; do runs+=("$("${bench[@]}" read "$1" "$2")"); done
  printf '%s\n' "${runs[@]}" | python3 -c 'import json,sys; r=[json.loads(l) for l in sys.stdin]; print(json.dumps(max(r, key=lambda x: x["text_mb_per_s"])))'
}
tool() {  # seconds for a command-line tool to stream a file to /dev/null, best of three
  local best=""
  for _ in 1 2 3; do
    local start end
    start=$(date +%s.%N); "$@" > /dev/null; end=$(date +%s.%N)
    best=$(python3 -c "print(min(x for x in [$end - $start, ${best:-1e9}]))")
  done
  echo "$best"
}

: > "$tmp/reads.jsonl"
for f in docs.jsonl docs.jsonl.gz docs.jsonl.zst docs.snappy.parquet docs.zstd.parquet docs.zstd.small-groups.parquet; do
  best "$tmp/corpus/$f" product >> "$tmp/reads.jsonl"
done
for f in docs.snappy.parquet docs.zstd.parquet docs.zstd.small-groups.parquet; do
  best "$tmp/corpus/$f" parquet.net >> "$tmp/reads.jsonl"
done
cat_s=$(tool cat "$tmp/corpus/docs.jsonl")
gzip_s=$(tool gzip -dc "$tmp/corpus/docs.jsonl.gz")
zstd_s=$(command -v zstd >/dev/null && tool zstd -dcq "$tmp/corpus/docs.jsonl.zst" || echo null)

python3 - "$tmp/reads.jsonl" "$out" "$cat_s" "$gzip_s" "$zstd_s" "$megabytes" <<'PY'
import json, os, platform, sys, datetime
reads_path, out, cat_s, gzip_s, zstd_s, megabytes = sys.argv[1:]
reads = [json.loads(l) for l in open(reads_path)]
jsonl_mb = next(r["file_mb"] for r in reads if r["file"] == "docs.jsonl")
text_mb = reads[0]["text_mb"]
def tool(seconds):
    return None if seconds == "null" else round(jsonl_mb / float(seconds), 1)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
load = os.getloadavg()[0]
product = {r["file"]: r for r in reads if r["library"] == "product"}
reference = {r["file"]: r for r in reads if r["library"] == "parquet.net"}
res = {
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "machine": {"cpu": cpu, "nproc": os.cpu_count(), "memory_gb": mem_gb, "os": platform.platform(), "load_average_1m": round(load, 1)},
    "text_mb": text_mb, "rows_per_group": 10000, "reads": reads,
    "tools_decompressed_jsonl_mb_per_s": {"cat": tool(cat_s), "gzip -dc": tool(gzip_s), "zstd -dc": tool(zstd_s)},
    "parquet_product_over_parquet_net": {f: round(product[f]["text_mb_per_s"] / reference[f]["text_mb_per_s"], 2) for f in reference},
}
json.dump(res, open(os.path.join(out, "corpus-read.json"), "w"), indent=2)
rows = "\n".join(
    f"| {r['file']} | {'product (ParquetSharp)' if r['library'] == 'product' and r['file'].endswith('.parquet') else 'product' if r['library'] == 'product' else 'Parquet.Net (reference)'} "
    f"| {r['file_mb']} | {r['documents']} | {r['seconds']} | **{r['text_mb_per_s']}** | {r['peak_rss_mb']} |" for r in reads)
ratios = ", ".join(f"{f}: {v}×" for f, v in res["parquet_product_over_parquet_net"].items())
t = res["tools_decompressed_jsonl_mb_per_s"]
md = f"""# Corpus read benchmark

Measured {res['date']} on {cpu}, {res['machine']['nproc']} cores, {mem_gb} GB RAM ({res['machine']['os']}); 1-minute load
average {res['machine']['load_average_1m']} at the end (the machine is shared: compare rows of this run with each other, not with other runs).

One corpus of {text_mb} MB of text (synthetic English-like documents of 0.5 to 8 kB, `id`, `text`, `domain`) in every format;
Parquet written by Arrow's C++ writer (as pyarrow and Hugging Face `datasets` write it) in row groups of 10,000 documents
(about 42 MB of text each), and of 1,000 (`small-groups`). Both readers read the `id`, `text` and `domain` columns.
Each read runs in a fresh process (so peak RSS is its own, JIT included) and walks every document, best of 3.
MB/s is MB (10^6 bytes) of UTF-8 document text per second.

| file | reader | file MB | documents | seconds | text MB/s | peak RSS MB |
|---|---|---|---|---|---|---|
{rows}

Product over Parquet.Net on the same files (MB/s): {ratios}. Peak RSS follows the row group, not the file: compare
the two zstd Parquet files, which hold the same 200 MB in row groups of 10,000 and of 1,000 documents.
Command-line tools streaming the same JSONL to /dev/null (MB of JSONL per second): cat {t['cat']}, gzip -dc {t['gzip -dc']}, zstd -dc {t['zstd -dc']}.

Reproduce: `make bench` or `bench/corpus.bench.sh [MEGABYTES]` after `make build`.
"""
open(os.path.join(out, "corpus-read.md"), "w").write(md)
print(md)
PY
