#!/usr/bin/env bash
# End-to-end test of the distributed mode against a real Kafka broker:
#   KAFKA_BOOTSTRAP_SERVERS=localhost:29092 scripts/e2e-kafka.sh          (e.g. after `docker compose up -d kafka-topics`)
# corpus sample -> proxy train -> ingest -> score (in the background) until every document is in PostgreSQL ->
# train-stream for a few steps -> checks, then one line: PASS or FAIL.
#
# Exit codes:
#   0  PASS, or SKIPPED: KAFKA_BOOTSTRAP_SERVERS is unset or none of its servers answers a Kafka request within 3 s.
#      The script then prints one line starting "SKIPPED: no Kafka broker reachable at ..." and runs nothing else, so
#      it can sit in any test run. With E2E_REQUIRE_BROKER=1 a missing broker exits 3 instead.
#   1  FAIL: a step failed or a check did not hold (the work directory is kept and named).
#   2  a tool the run needs is missing (psql).
#
# Isolation, so reruns and other users of the broker do not collide: a run id (e2e-<UTC time>-<pid>) prefixes every
# document id, names the proxy (the scorer model id), the consumer groups and the training run, and, when
# kafka-topics.sh is at hand (KAFKA_TOPICS_BIN, PATH, /opt/kafka/bin), the run's own topics <run>.documents and
# <run>.documents.dlq (deleted again after a PASS). Without it the standard `documents` and `documents.dlq` topics must
# exist (docker compose creates them). `scored-batches` is always shared (the scorer's outbox relay publishes to that
# fixed topic), so on a reused broker the trainer may also train on earlier runs' batches; its checks hold either way.
# The database is private: REWEIGHT_DB (or PG* variables) when set, else an embedded cluster in the work directory.
#
# KAFKA_BOOTSTRAP_SERVERS=mock runs the path against librdkafka's in-process mock cluster (Confluent.Kafka's
# test.mock.num.brokers), held open for the script's lifetime by a small .NET program (`dotnet run` on a file, built
# on first use): a smoke run where no broker is at hand. It is not Apache Kafka: no kafka-topics.sh, the topics get
# librdkafka's default of 4 partitions.
#
# Settings (environment): E2E_DOCUMENTS (200), E2E_PROXY_STEPS (30), E2E_TRAIN_STEPS (5), E2E_DEVICE (cpu),
# E2E_TIMEOUT (seconds for scoring and for training, 600 each), E2E_WORK (work directory; default a new one under
# /tmp), E2E_KEEP=1 (keep the work directory after a PASS), REWEIGHT (the CLI; default the repository's ./reweight).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bootstrap=${KAFKA_BOOTSTRAP_SERVERS:-}

skip() {
  echo "SKIPPED: no Kafka broker reachable at ${bootstrap:-<KAFKA_BOOTSTRAP_SERVERS is not set>}${1:+ ($1)}"
  if [ "${E2E_REQUIRE_BROKER:-0}" = 1 ]; then exit 3; fi
  exit 0
}

# True when one of the comma-separated servers (host:port, optionally PROTOCOL://host:port or [v6]:port) answers a
# Kafka ApiVersions request (v0, correlation id 1) within 3 seconds. A bare TCP connect is not enough: some networks
# accept every connection.
broker_reachable() {
  local server host port answer
  local -a servers
  IFS=',' read -ra servers <<< "$1"
  for server in "${servers[@]}"; do
    server=${server#*://}
    server=${server// /}
    host=${server%:*}
    port=${server##*:}
    host=${host#[}
    host=${host%]}
    if [ -z "$host" ] || [ -z "$port" ] || [ "$host" = "$server" ]; then continue; fi
    # shellcheck disable=SC2016  # $0 and $1 belong to the inner shell
    answer=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
      printf "\x00\x00\x00\x0d\x00\x12\x00\x00\x00\x00\x00\x01\x00\x03e2e" >&3
      head -c 8 <&3 | od -An -tx1' "$host" "$port" 2>/dev/null || true)
    # Response: length (4 bytes), then the correlation id 00 00 00 01.
    if [ "$(echo "$answer" | tr -d ' \n' | cut -c9-16)" = 00000001 ]; then return 0; fi
  done
  return 1
}

mock=0
if [ "$bootstrap" = mock ]; then
  mock_dir=$(mktemp -d /tmp/rw-e2e-mock.XXXXXX)
  echo "[$(date -u +%H:%M:%S)] starting librdkafka's mock cluster (first use builds it; log: $mock_dir/log)" >&2
  "$root/scripts/kafka-mock.sh" "$$" documents documents.dlq scored-batches >"$mock_dir/bootstrap" 2>"$mock_dir/log" &
  for _ in $(seq 1 300); do
    if [ -s "$mock_dir/bootstrap" ]; then break; fi
    sleep 1
  done
  bootstrap=$(head -1 "$mock_dir/bootstrap")
  if [ -z "$bootstrap" ]; then
    echo "FAIL: the mock cluster did not start: $(tail -3 "$mock_dir/log")"
    exit 1
  fi
  mock=1
fi

[ -n "$bootstrap" ] || skip
broker_reachable "$bootstrap" || skip "no Kafka answer within 3 s"

documents=${E2E_DOCUMENTS:-200}
proxy_steps=${E2E_PROXY_STEPS:-30}
train_steps=${E2E_TRAIN_STEPS:-5}
device=${E2E_DEVICE:-cpu}
limit=${E2E_TIMEOUT:-600}
reweight=${REWEIGHT:-$root/reweight}
run="e2e-$(date -u +%Y%m%d%H%M%S)-$$"
model="$run-proxy"

psql_bin=$(command -v psql || true)
for candidate in /usr/lib/postgresql/*/bin/psql; do
  if [ -z "$psql_bin" ] && [ -x "$candidate" ]; then psql_bin=$candidate; fi
done
if [ -z "$psql_bin" ]; then
  echo "error: psql is needed for the checks (apt-get install postgresql-client)" >&2
  exit 2
fi

# Short by default: the embedded server's Unix socket lives in its data directory ($work/pg).
work=${E2E_WORK:-$(mktemp -d /tmp/rw-e2e.XXXXXX)}
mkdir -p "$work"
# When run as root the embedded server runs as another user, which must reach its data directory inside $work.
chmod 0755 "$work"
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# Connection for psql: REWEIGHT_DB is an Npgsql connection string; the PG* variables serve psql as they are; else the
# embedded cluster's socket (the CLI starts it under REWEIGHT_PG_DATA; the scorer, started first, keeps it running).
conninfo_from_npgsql() {
  local pair key name value out=""
  local -a pairs
  IFS=';' read -ra pairs <<< "$1"
  for pair in "${pairs[@]}"; do
    [[ $pair == *=* ]] || continue
    key=$(printf '%s' "${pair%%=*}" | tr -d ' ' | tr '[:upper:]' '[:lower:]')
    value=${pair#*=}
    case $key in
      host|server) name=host ;;
      port) name=port ;;
      username|userid|user) name=user ;;
      password|pwd) name=password ;;
      database|db) name=dbname ;;
      sslmode) name=sslmode ;;
      *) continue ;;
    esac
    out+="$name='${value//\'/\\\'}' "
  done
  printf '%s' "$out"
}
if [ -n "${REWEIGHT_DB:-}" ]; then
  conninfo=$(conninfo_from_npgsql "$REWEIGHT_DB")
  database="REWEIGHT_DB"
elif [ -n "${PGHOST:-}${PGPORT:-}${PGDATABASE:-}${PGUSER:-}" ]; then
  conninfo=""
  database="the PG* variables"
else
  export REWEIGHT_PG_DATA="$work/pg"
  conninfo="host=$work/pg port=5432 user=postgres dbname=reweight"
  database="an embedded cluster in $work/pg"
fi
sql() {
  if [ -n "$conninfo" ]; then "$psql_bin" "$conninfo" -X -q -t -A -v ON_ERROR_STOP=1 -c "$1"
  else "$psql_bin" -X -q -t -A -v ON_ERROR_STOP=1 -c "$1"; fi
}

scorer_pid=""
passed=0
topics_bin=""
cleanup() {
  if [ -n "$scorer_pid" ] && kill -0 "$scorer_pid" 2>/dev/null; then
    kill -TERM "$scorer_pid" 2>/dev/null || true
    wait "$scorer_pid" 2>/dev/null || true
  fi
  if [ "$passed" = 1 ]; then
    if [ -n "$topics_bin" ]; then
      "$topics_bin" --bootstrap-server "$bootstrap" --delete --topic "$run.documents" >/dev/null 2>&1 || true
      "$topics_bin" --bootstrap-server "$bootstrap" --delete --topic "$run.documents.dlq" >/dev/null 2>&1 || true
    fi
    if [ "${E2E_KEEP:-0}" != 1 ] && [ -z "${E2E_WORK:-}" ]; then rm -rf "$work"; fi
    if [ -n "${mock_dir:-}" ]; then rm -rf "$mock_dir"; fi
  fi
}
trap cleanup EXIT

fail() {
  echo "FAIL: $* (run $run; logs and data in $work)"
  exit 1
}

log "run $run against $bootstrap; database: $database; work directory $work"

# Topics: the run's own when the broker's tools are here, else the standard ones (always on the mock cluster).
if [ "$mock" = 0 ]; then
  for candidate in "${KAFKA_TOPICS_BIN:-}" "$(command -v kafka-topics.sh || true)" "$(command -v kafka-topics || true)" /opt/kafka/bin/kafka-topics.sh; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then topics_bin=$candidate; break; fi
  done
fi
if [ -n "$topics_bin" ]; then
  topic="$run.documents"
  dlq_topic="$run.documents.dlq"
  log "creating topics $topic (3 partitions), $dlq_topic and, if missing, scored-batches with $topics_bin"
  "$topics_bin" --bootstrap-server "$bootstrap" --create --topic "$topic" --partitions 3 --replication-factor 1 >/dev/null ||
    fail "could not create topic $topic"
  "$topics_bin" --bootstrap-server "$bootstrap" --create --topic "$dlq_topic" --partitions 1 --replication-factor 1 >/dev/null ||
    fail "could not create topic $dlq_topic"
  "$topics_bin" --bootstrap-server "$bootstrap" --create --if-not-exists --topic scored-batches --partitions 1 --replication-factor 1 \
    --config max.message.bytes=16777216 >/dev/null || fail "could not create topic scored-batches"
else
  topic=documents
  dlq_topic=documents.dlq
  if [ "$mock" = 1 ]; then log "mock cluster: topics documents, documents.dlq and scored-batches"
  else log "no kafka-topics.sh here (set KAFKA_TOPICS_BIN): using the existing topics documents, documents.dlq and scored-batches"; fi
fi

# Dead letters of this run: the end offsets of its own DLQ topic; 0 on the shared topic (the sample corpus holds no
# malformed records, so nothing of this run is expected there).
dead_letters() {
  if [ -n "$topics_bin" ] && [ -x "$(dirname "$topics_bin")/kafka-get-offsets.sh" ]; then
    "$(dirname "$topics_bin")/kafka-get-offsets.sh" --bootstrap-server "$bootstrap" --topic "$dlq_topic" 2>/dev/null |
      awk -F: '{ n += $NF } END { print n + 0 }'
  else
    echo 0
  fi
}

log "sample corpus of $documents documents, ids prefixed with the run id"
"$reweight" corpus sample --out "$work/sample.jsonl" --documents "$documents" --noise 0.2 --seed 7 >"$work/corpus.log" 2>&1 ||
  fail "reweight corpus sample failed: $(tail -1 "$work/corpus.log")"
sed "s/^{\"id\":\"/{\"id\":\"$run-/" "$work/sample.jsonl" > "$work/corpus.jsonl"
expected=$(wc -l < "$work/corpus.jsonl")
[ "$(grep -c "^{\"id\":\"$run-" "$work/corpus.jsonl")" = "$expected" ] || fail "could not prefix the document ids (the corpus format changed?)"

log "training a tiny proxy ($proxy_steps steps on $device)"
"$reweight" proxy train --corpus "$work/corpus.jsonl" --preset tiny --steps "$proxy_steps" --batch 8 --device "$device" \
  --folds 0 --out "$work/proxy" >"$work/proxy.log" 2>&1 || fail "reweight proxy train failed: $(tail -1 "$work/proxy.log")"
end_of_text=$(grep -o '"<|endoftext|>": *[0-9]*' "$work/proxy/encoder.json" | grep -o '[0-9]*$' || true)
[ -n "$end_of_text" ] || fail "the proxy's tokenizer has no <|endoftext|>"

log "starting the scorer (log: $work/scorer.log)"
"$reweight" score --model "$work/proxy" --bootstrap-servers "$bootstrap" --device "$device" \
  --Scorer:ModelId="$model" --Scorer:Topic="$topic" --Scorer:DeadLetterTopic="$dlq_topic" --Scorer:GroupId="$run-scorer" \
  --Scorer:Labelling:WarmUpDocuments=$((expected / 2)) --Scorer:MaxWait=00:00:01 >"$work/scorer.log" 2>&1 &
scorer_pid=$!

log "ingesting $expected documents to $topic"
"$reweight" ingest "$work/corpus.jsonl" --bootstrap-servers "$bootstrap" --topic "$topic" >"$work/ingest.log" 2>&1 ||
  fail "reweight ingest failed: $(tail -1 "$work/ingest.log")"

# This run's documents only: on the shared `documents` topic the scorer also reads earlier runs' documents.
count_scored="SELECT count(*) FROM sample_scores WHERE scorer_model = '$model' AND document_id LIKE '$run-%'"
log "waiting for the scorer to store every document"
deadline=$((SECONDS + limit))
scored=0
dlq=0
while :; do
  kill -0 "$scorer_pid" 2>/dev/null || fail "the scorer exited: $(grep -v '^%' "$work/scorer.log" | tail -3)"
  scored=$(sql "$count_scored" 2>/dev/null || echo 0)
  dlq=$(dead_letters)
  [ "$((scored + dlq))" -ge "$expected" ] && break
  [ "$SECONDS" -lt "$deadline" ] || fail "after ${limit}s only $scored of $expected documents were scored ($dlq dead letters)"
  sleep 2
done
log "$scored documents scored, $dlq dead-lettered"

log "training $train_steps steps from scored-batches (log: $work/trainer.log)"
set +e
timeout "$limit" "$reweight" train-stream --bootstrap-servers "$bootstrap" --steps "$train_steps" --strategy uniform --device "$device" \
  --checkpoint-dir "$work/trainer" --json --Trainer:RunId="$run" --Trainer:ConsumerGroup="$run-trainer" \
  --Trainer:EndOfTextToken="$end_of_text" --Trainer:Training:BatchSize=4 --Trainer:Training:SequenceLength=64 \
  --Trainer:Training:WarmupSteps=1 --Trainer:StopWhenIdleFor=00:01:00 >"$work/trainer.json" 2>"$work/trainer.log"
trained=$?
set -e
[ "$trained" = 0 ] || fail "reweight train-stream exited $trained: $(grep -v '^%' "$work/trainer.log" | tail -3)"
grep -q '"stop_reason":"completed"' "$work/trainer.json" || fail "the trainer did not complete its steps: $(cat "$work/trainer.json")"

# The checks, while the scorer still holds the (embedded) database open.
scored=$(sql "$count_scored")
dlq=$(dead_letters)
gmm_versions=$(sql "SELECT count(*) FROM gmm_models WHERE scorer_model = '$model'")
run_status=$(sql "SELECT status FROM training_runs WHERE run_id = '$run'")
metrics=$(sql "SELECT count(*) FROM training_metrics WHERE run_id = '$run'")
[ "$scored" = "$((expected - dlq))" ] || fail "$scored documents in sample_scores, expected $expected - $dlq dead letters"
[ "$gmm_versions" -ge 1 ] || fail "no GMM version was stored for $model"
[ "$run_status" = finished ] || fail "training run $run is '${run_status:-missing}' in training_runs, not finished"
[ "$metrics" -ge 1 ] || fail "no training_metrics rows for $run"

passed=1
echo "PASS: $scored of $expected documents scored ($dlq dead letters), $gmm_versions GMM version(s), training run $run finished with $metrics metric rows"
