#!/usr/bin/env bash
# Runs every test project and prints one summary line over all of them: "N passed, N failed[, N skipped]".
# A test host that dies without writing results counts as one failure, so a crash can never read as green.
set -uo pipefail
config=${1:-Release}
root=$(cd "$(dirname "$0")/.." && pwd)
results="$root/TestResults"
rm -rf "$results"
mkdir -p "$results"
passed=0 failed=0 skipped=0 rc=0
for proj in "$root"/tests/*/*.csproj; do
  name=$(basename "$proj" .csproj)
  echo "=== $name"
  dotnet test "$proj" -c "$config" --no-build --nologo --logger "trx;LogFileName=$name.trx" \
    --logger "console;verbosity=normal" --results-directory "$results" || rc=1
  trx="$results/$name.trx"
  if [ ! -f "$trx" ]; then
    echo "!!! $name wrote no results (test host crashed?)"
    failed=$((failed + 1)); rc=1; continue
  fi
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  get() { echo "$counters" | grep -o "$1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
done
line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
[ "$failed" -gt 0 ] && rc=1
echo "$line"
exit $rc
