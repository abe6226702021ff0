#!/usr/bin/env bash
# librdkafka's mock Kafka cluster (Confluent.Kafka's test.mock.num.brokers) in a process of its own:
#   scripts/kafka-mock.sh WATCHED_PID [TOPIC...]
# prints the cluster's bootstrap servers on one line once the topics exist, then lives until process WATCHED_PID ends.
# It is not Apache Kafka (one broker, topics of librdkafka's default 4 partitions), but it speaks the Kafka protocol to
# clients in other processes: the peer for end-to-end runs and benchmarks where no broker is at hand. The small .NET
# program is built on first use (`dotnet run` on a file) under ${XDG_CACHE_HOME:-~/.cache}/reweight/kafka-mock.
set -euo pipefail
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
  [ $# -ge 1 ] && exit 0 || exit 2
fi
dir=${XDG_CACHE_HOME:-$HOME/.cache}/reweight/kafka-mock
mkdir -p "$dir"
cat > "$dir/kafka-mock.cs.new" <<'CS'
#:package Confluent.Kafka@2.16.0
using System.Diagnostics;
using Confluent.Kafka;
// Usage: kafka-mock.cs WATCHED_PID TOPIC...: starts a mock cluster, creates the topics, prints its bootstrap servers
// and lives until the watched process ends.
string? bootstrap = null;
var config = new ProducerConfig { BootstrapServers = "unused:1" };
config.Set("test.mock.num.brokers", "1");
using var producer = new ProducerBuilder<string, string>(config).SetLogHandler((_, m) =>
{
    var at = m.Message.IndexOf("replaced with ", StringComparison.Ordinal);
    if (at >= 0) bootstrap = m.Message[(at + "replaced with ".Length)..].Trim();
}).Build();
for (var i = 0; i < 100 && bootstrap is null; i++) Thread.Sleep(100);
// The mock creates a topic when a producer asks for its metadata.
using var admin = new DependentAdminClientBuilder(producer.Handle).Build();
foreach (var topic in args.Skip(1)) admin.GetMetadata(topic, TimeSpan.FromSeconds(5));
Console.WriteLine(bootstrap);
using var watched = Process.GetProcessById(int.Parse(args[0]));
watched.WaitForExit();
CS
# Rewritten only when it changed, so `dotnet run` reuses its build.
if ! cmp -s "$dir/kafka-mock.cs.new" "$dir/kafka-mock.cs"; then mv "$dir/kafka-mock.cs.new" "$dir/kafka-mock.cs"; else rm "$dir/kafka-mock.cs.new"; fi
exec dotnet run "$dir/kafka-mock.cs" -- "$@"
