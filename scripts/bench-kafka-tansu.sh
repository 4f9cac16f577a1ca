#!/usr/bin/env bash
# bench-kafka against a real broker: starts a local, memory-only Tansu broker on 127.0.0.1 (the Kafka
# testbed: scripts/kafka-testbed.sh), creates the bench topics, runs the release bench-kafka with
# librdkafka 2.16 on LD_LIBRARY_PATH (Debian's 2.0.2 cannot talk to Tansu) and stops the broker.
#
#   scripts/bench-kafka-tansu.sh [messages] [cases]      same arguments as bench-kafka
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BENCH_KAFKA_BIN:-.build-release/release/bench-kafka}
[ -x "$BIN" ] || swift build -c release --scratch-path .build-release --product bench-kafka
PORT=${PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
LIB=$(scripts/kafka-testbed.sh libdir)
scripts/kafka-testbed.sh start "$PORT" >/dev/null
trap 'scripts/kafka-testbed.sh stop "$PORT" >/dev/null 2>&1 || true' EXIT
for c in 0 a b c; do scripts/kafka-testbed.sh topic-create "$PORT" "orders-$c" 16; done
BENCH_BROKERS=127.0.0.1:$PORT LD_LIBRARY_PATH=$LIB "$BIN" "$@"
