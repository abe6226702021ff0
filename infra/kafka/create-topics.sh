#!/bin/sh
# Creates the pipeline's topics (idempotent). Used by docker-compose's kafka-topics service; works against any broker:
#   KAFKA_BOOTSTRAP_SERVERS=host:9092 infra/kafka/create-topics.sh
set -eu
bootstrap=${KAFKA_BOOTSTRAP_SERVERS:-kafka:9092}
topics_bin=${KAFKA_TOPICS_BIN:-/opt/kafka/bin/kafka-topics.sh}
partitions=${DOCUMENT_PARTITIONS:-6}
create() { # name partitions [config ...]
  name=$1; parts=$2; shift 2
  "$topics_bin" --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$name" --partitions "$parts" \
    --replication-factor "${REPLICATION_FACTOR:-1}" "$@"
}
# documents: one JSON record per document, keyed by id; scorers share it as one consumer group.
create documents "$partitions" --config compression.type=producer --config retention.ms=604800000
# documents.dlq: rejected records with their reason, kept longer for inspection.
create documents.dlq 1 --config retention.ms=2592000000
# scored-batches: binary scored batches keyed by batch id; one partition keeps the trainer's order total.
create scored-batches 1 --config compression.type=producer --config max.message.bytes=16777216
# scored-batches.dlq: batches the trainer could not train on, with their reason; room for a batch in base64.
create scored-batches.dlq 1 --config retention.ms=2592000000 --config max.message.bytes=25165824
"$topics_bin" --bootstrap-server "$bootstrap" --list
