#!/usr/bin/env python3
"""The Python side of bench-http: POST a JSON body with `requests`, one Session per thread
(the pattern Airflow users copy from provider docs), for a fixed time.

Prints one JSON line: {"count", "errors", "elapsed", "p50_ms", "p99_ms"}.
"""
import argparse
import json
import threading
import time

import requests


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    args = parser.parse_args()
    body = open(args.body_file, "rb").read()
    headers = {"Content-Type": "application/json"}

    start_at = time.monotonic() + args.warmup
    stop_at = start_at + args.duration
    results = []
    lock = threading.Lock()

    def worker():
        session = requests.Session()
        latencies = []
        errors = 0
        while True:
            t0 = time.monotonic()
            if t0 >= stop_at:
                break
            try:
                response = session.post(args.url, data=body, headers=headers, timeout=30)
                ok = response.status_code == 200 and response.content == b'{"ok":true}'
            except requests.RequestException:
                ok = False
            t1 = time.monotonic()
            if t0 >= start_at:
                if ok:
                    latencies.append(t1 - t0)
                else:
                    errors += 1
        with lock:
            results.append((latencies, errors))

    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    latencies = sorted(l for ls, _ in results for l in ls)
    errors = sum(e for _, e in results)

    def pct(p):
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(json.dumps({
        "count": len(latencies),
        "errors": errors,
        "elapsed": args.duration,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
    }))


if __name__ == "__main__":
    main()
