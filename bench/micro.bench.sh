#!/usr/bin/env bash
# In-process micro-benchmarks of the project's .NET code on BenchmarkDotNet (bench/Reweighting.Benchmarks): GPT-2
# encoding by our tokenizer and by Microsoft.ML.Tokenizers, GMM EM, the scored-batch codec, and the bulk score writer on
# a throwaway PostgreSQL cluster. One short job in this process: 3 warm-up and 5 measured iterations per benchmark.
# The whole-process comparisons with PyTorch, scikit-learn and psql stay in the other bench/*.bench.sh scripts.
# Usage: bench/micro.bench.sh [FILTER]   (BenchmarkDotNet's --filter glob; default: every benchmark)
# Writes bench/results/micro.md, with BenchmarkDotNet's own reports in bench/results/micro/ (GitHub markdown, full JSON).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
config=${CONFIG:-Release}
filter=${1:-*}
out="$root/bench/results"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out/micro"

# Part of Reweighting.sln, so `make build` (and CI) keeps it compiling; built again here in case only it changed.
dotnet build "$root/bench/Reweighting.Benchmarks" -c "$config" --nologo -v quiet -clp:ErrorsOnly
start=$(date +%s)
dotnet "$root/bench/Reweighting.Benchmarks/bin/$config/net10.0/Reweighting.Benchmarks.dll" --filter "$filter" --artifacts "$tmp"
seconds=$(( $(date +%s) - start ))

# One report per benchmark class: Reweighting.Benchmarks.<Class>-report-github.md and -report-full.json.
rm -f "$out"/micro/*-report-github.md "$out"/micro/*-report-full.json
cp "$tmp"/results/*-report-github.md "$tmp"/results/*-report-full.json "$out/micro/"

python3 - "$out" "$seconds" "$filter" <<'PY'
import datetime, os, platform, sys
out, seconds, filter_ = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
load = os.getloadavg()
reports = sorted(f for f in os.listdir(os.path.join(out, "micro")) if f.endswith("-report-github.md"))
report = "\n".join(f"## {f.removesuffix('-report-github.md').split('.')[-1]}\n\n" + open(os.path.join(out, "micro", f)).read()
                   for f in reports)
md = f"""# Micro-benchmarks (BenchmarkDotNet)

Measured {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")} on {cpu}, {os.cpu_count()} cores
({platform.platform()}). The run (filter `{filter_}`) took {seconds} s of wall time, build excluded. Load average at the end:
{load[0]:.2f} (1 min), {load[1]:.2f} (5 min): when it is above the core count, other work shared the machine and the absolute
figures are noisy (see the Error and StdDev columns); compare rows of one run, not runs of different days.

One short job, in process (BenchmarkDotNet's InProcessEmit toolchain: no separate build or process per benchmark):
1 launch, 3 warm-up and 5 measured iterations. The tokenizer encodes 256 kB per operation (MB/s = 0.256 / mean seconds).
The writer's rows go to a private durable PostgreSQL cluster started for the run. Reproduce with `bench/micro.bench.sh`
(or `make bench`, which runs every benchmark); `bench/micro.bench.sh '*Codec*'` runs a subset.

{report}
"""
open(os.path.join(out, "micro.md"), "w").write(md)
print(md)
PY
