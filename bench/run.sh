#!/usr/bin/env bash
# Runs every benchmark (bench/*.bench.sh) in turn; each writes its results under bench/results/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
config=${1:-Release}
status=0
for script in "$root"/bench/*.bench.sh; do
  echo "=== $(basename "$script" .bench.sh)"
  CONFIG=$config "$script" || { echo "!!! $(basename "$script") failed"; status=1; }
done
exit $status
