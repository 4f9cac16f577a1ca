#!/usr/bin/env python3
"""Test helper for dagbridge's Kafka broker tests, run with the Kafka testbed's venv python
(confluent-kafka bundles librdkafka 2.16, which talks to Tansu).

  kafka-tool.py produce   --broker H:P --topic T --count N --partitions P [--start I]
      N JSON messages {"n": i, "status": "paid"}, message i to partition i % P; prints the count.
  kafka-tool.py committed --broker H:P --group G --topic T --partitions P
      prints the group's committed offsets as a JSON list (-1001 = none).
"""
import argparse
import json
import sys

from confluent_kafka import Consumer, Producer, TopicPartition

p = argparse.ArgumentParser()
p.add_argument("cmd", choices=["produce", "committed"])
p.add_argument("--broker", required=True)
p.add_argument("--topic", required=True)
p.add_argument("--count", type=int, default=0)
p.add_argument("--start", type=int, default=0)
p.add_argument("--partitions", type=int, default=4)
p.add_argument("--group", default="")
a = p.parse_args()

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
else:
    c = Consumer({"bootstrap.servers": a.broker, "group.id": a.group, "enable.auto.commit": False})
    parts = c.committed([TopicPartition(a.topic, i) for i in range(a.partitions)], timeout=10)
    print(json.dumps([tp.offset for tp in parts]))
    c.close()
