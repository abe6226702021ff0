#!/usr/bin/env bash
# Storage benchmark: sustained score rows/s through the bulk writer (consumer offsets and one transaction per batch;
# new keys by binary COPY straight into the table, stored keys by staging COPY and upsert) next to psql's plain COPY
# of the same rows into the same table, in the same run, on a throwaway local PostgreSQL cluster.
# Builds nothing (the Makefile builds first).
# Writes bench/results/storage.json and bench/results/storage.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
config=${CONFIG:-Release}
out="$root/bench/results"
mkdir -p "$out"
dotnet "$root/src/Cli/bin/$config/net10.0/reweight.dll" bench storage \
  --rows "${STORAGE_BENCH_ROWS:-1000000}" --batch "${STORAGE_BENCH_BATCH:-50000}" --repeat "${STORAGE_BENCH_REPEAT:-3}" \
  --json "$out/storage.json" --markdown "$out/storage.md"
