#!/usr/bin/env python3
"""Test helper for dagbridge's Kafka broker tests, run with the Kafka testbed's venv python
(confluent-kafka bundles librdkafka 2.16, which talks to Tansu).

  kafka-tool.py produce   --broker H:P --topic T --count N --partitions P [--start I]
      N JSON messages {"n": i, "status": "paid"}, message i to partition i % P; prints the count.
  kafka-tool.py send      --broker H:P --topic T --partition P --value TEXT
      one message with exactly this value (e.g. one that is not JSON) to partition P; prints its offset.
  kafka-tool.py read      --broker H:P --topic T --count N [--partitions P]
      the first N messages of the topic's partitions 0..P-1 as one JSON list of
      {"partition", "offset", "key", "value", "headers": {name: value}} (exits 1 if fewer arrive in 20 s).
  kafka-tool.py committed --broker H:P --group G --topic T --partitions P
      prints the group's committed offsets as a JSON list (-1001 = none).
"""
import argparse
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

p = argparse.ArgumentParser()
p.add_argument("cmd", choices=["produce", "send", "read", "committed"])
p.add_argument("--broker", required=True)
p.add_argument("--topic", required=True)
p.add_argument("--count", type=int, default=0)
p.add_argument("--start", type=int, default=0)
p.add_argument("--partitions", type=int, default=4)
p.add_argument("--partition", type=int, default=0)
p.add_argument("--value", default="")
p.add_argument("--group", default="")
a = p.parse_args()


def text(b):
    return None if b is None else b.decode("utf-8", "replace")


if a.cmd == "produce":
    prod = Producer({"bootstrap.servers": a.broker, "linger.ms": 5, "acks": "all"})
    failed = []
    def report(err, msg):
        if err is not None:
            failed.append(err)
    for i in range(a.start, a.start + a.count):
        while True:
            try:
                prod.produce(a.topic, json.dumps({"n": i, "status": "paid"}).encode(), key=str(i).encode(),
                             partition=i % a.partitions, on_delivery=report)
                break
            except BufferError:
                prod.poll(0.05)
        prod.poll(0)
    left = prod.flush(30)
    if left or failed:
        print(f"not delivered: {left} queued, {len(failed)} failed: {failed[:3]}", file=sys.stderr)
        sys.exit(1)
    print(a.count)
elif a.cmd == "send":
    prod = Producer({"bootstrap.servers": a.broker, "acks": "all"})
    result = []
    prod.produce(a.topic, a.value.encode(), partition=a.partition, on_delivery=lambda err, msg: result.append((err, msg)))
    prod.flush(30)
    if not result or result[0][0] is not None:
        print(f"not delivered: {result[0][0] if result else 'no delivery report'}", file=sys.stderr)
        sys.exit(1)
    print(result[0][1].offset())
elif a.cmd == "read":
    c = Consumer({"bootstrap.servers": a.broker, "group.id": "kafka-tool-read", "enable.auto.commit": False})
    c.assign([TopicPartition(a.topic, i, OFFSET_BEGINNING) for i in range(a.partitions)])
    out = []
    deadline = time.monotonic() + 20
    while len(out) < a.count and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        out.append({"partition": m.partition(), "offset": m.offset(), "key": text(m.key()), "value": text(m.value()),
                    "headers": {k: text(v) for k, v in (m.headers() or [])}})
    c.close()
    print(json.dumps(out))
    sys.exit(0 if len(out) >= a.count else 1)
else:
    c = Consumer({"bootstrap.servers": a.broker, "group.id": a.group, "enable.auto.commit": False})
    parts = c.committed([TopicPartition(a.topic, i) for i in range(a.partitions)], timeout=10)
    print(json.dumps([tp.offset for tp in parts]))
    c.close()
