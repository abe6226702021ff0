#!/usr/bin/env bash
# Weighted training against its headroom and against filtering: `eval reweighting` with every strategy and reference arm
# on the 20%-noise tuning cell of each chosen corpus of a label-evaluation directory (scripts/label-eval.sh builds it:
# the noisy stream, its clean reference and, with --proxy-on stream, a proxy trained on the stream). See --help.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REWEIGHT=${REWEIGHT:-$ROOT/reweight}

usage() {
  cat <<USAGE
Usage: scripts/reweighting-evidence.sh [options] LABEL_EVAL_DIR OUTDIR

For each corpus, trains every strategy and reference arm (oracle, filter, distill, meta-em:frozen) for each seed on
LABEL_EVAL_DIR/<corpus>/<cell>/noisy.jsonl with that cell's proxy (build LABEL_EVAL_DIR with scripts/label-eval.sh
--proxy-on stream: the default proxy is trained on the reference this evaluation validates on), and reports the clean validation loss on half of
LABEL_EVAL_DIR/<corpus>/reference.jsonl (the other half is meta-em's meta-validation and the filter's labelling
reference). Writes OUTDIR/<corpus>.json (the evaluation's JSON) and OUTDIR/<corpus>.txt (its table, the command and
the wall time).

Options:
  --corpora LIST   corpora (default: generated,developer)
  --cell NAME      the cell of each corpus (default: tune-20)
  --seeds N        seeds 1..N (default: 5)
  --steps N        optimiser steps per run (default: 300)
  --batch N        sequences per step (default: 16)
  --seq N          tokens per sequence (default: 64)
  --preset NAME    model size (default: tiny)
  -h, --help       this help
USAGE
}

corpora=generated,developer cell=tune-20 seeds=5 steps=300 batch=16 seq=64 preset=tiny
positional=()
while (($#)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --corpora) corpora=$2; shift 2 ;;
    --cell) cell=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --seq) seq=$2; shift 2 ;;
    --preset) preset=$2; shift 2 ;;
    -*) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) positional+=("$1"); shift ;;
  esac
done
((${#positional[@]} == 2)) || { usage >&2; exit 2; }
source_dir=${positional[0]} out=${positional[1]}
mkdir -p "$out"

IFS=, read -ra names <<<"$corpora"
for corpus in "${names[@]}"; do
  dir=$source_dir/$corpus/$cell
  for needed in "$dir/noisy.jsonl" "$dir/proxy/config.json" "$source_dir/$corpus/reference.jsonl"; do
    [[ -e $needed ]] || { echo "error: $needed does not exist (run scripts/label-eval.sh first)" >&2; exit 2; }
  done
  # A proxy trained on the reference has seen the documents this evaluation validates on (token-masked and distill learn
  # from it): the comparison needs the stream-trained proxy.
  if grep -qx 'on=reference' "$dir/proxy.settings" 2>/dev/null; then
    echo "error: $dir/proxy was trained on the clean reference this evaluation validates on; build $source_dir with" \
      "scripts/label-eval.sh --proxy-on stream" >&2
    exit 2
  fi
  command=("$REWEIGHT" eval reweighting --train "$dir/noisy.jsonl" --valid "$source_dir/$corpus/reference.jsonl"
    --proxy "$dir/proxy" --preset "$preset" --steps "$steps" --batch "$batch" --seq "$seq" --seeds "$seeds"
    --strategies linupper,quadratic,extremes,meta-em,cluster-heuristic,token-masked --out "$out/$corpus.json")
  echo "[$(date +%H:%M:%S)] $corpus: ${command[*]}" >&2
  start=$SECONDS
  "${command[@]}" >"$out/$corpus.table" 2>"$out/$corpus.log"
  {
    echo "corpus: $corpus ($cell), $(nproc) cores, wall time $((SECONDS - start)) s"
    echo "command: ${command[*]#"$ROOT"/}"
    echo
    cat "$out/$corpus.table"
  } >"$out/$corpus.txt"
  rm -f "$out/$corpus.table"
  echo "[$(date +%H:%M:%S)] $corpus: done in $((SECONDS - start)) s" >&2
done
