#!/usr/bin/env python3
"""A stand-in Airflow 3 target for dagbridge's delivery tests (127.0.0.1 only).

Answers POST /api/v2/dags/{dag_id}/dagRuns (and Airflow 2's /api/v1/...) like Airflow: 200 and creates the run the first time a
dag_run_id is seen, 409 afterwards; 404 for DAG ids starting with "missing". Records every created run id (one line each, flushed) in --log,
so a test can check that no run id was created twice, across restarts of the dispatcher.

Failure injection (seeded, per request): --fail-rate (500 before creating), --reset-rate (connection
reset without an answer; half of them after creating the run), --slow-rate/--slow-seconds (create,
then answer only after the client's timeout), --delay (every call waits this long after deciding,
so runs are created and then answered later: paces a test). --record-header NAME (repeatable) appends, for
every trigger POST (before it is decided), a JSON line {"run_id": ..., "headers": {NAME: value or null}} to LOG.headers (a proxy
in front, e.g. Apache's Kerberos check, can be seen to have passed the authenticated user). POST /_control {"down": true|false} makes every call
answer 503 (an outage), as does SIGUSR1 (toggles down/up); GET /_stats returns counters as JSON. POST /auth/token returns a token.

  scripts/recording-target.py --port 0 --log /tmp/created.txt   # prints "READY <port>"
"""
import argparse
import json
import signal
import random
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, default=0)
p.add_argument("--log", required=True)
p.add_argument("--seed", type=int, default=1)
p.add_argument("--fail-rate", type=float, default=0.0)
p.add_argument("--reset-rate", type=float, default=0.0)
p.add_argument("--slow-rate", type=float, default=0.0)
p.add_argument("--slow-seconds", type=float, default=3.0)
p.add_argument("--delay", type=float, default=0.0)
p.add_argument("--record-header", action="append", default=[])
p.add_argument("--record-body", action="store_true", help="append every trigger POST's body as one line to LOG.bodies")
args = p.parse_args()

lock = threading.Lock()
rng = random.Random(args.seed)
created = set()
stats = {"calls": 0, "created": 0, "duplicates": 0, "failed": 0, "resets": 0, "slow": 0, "down": 0}
state = {"down": False}
try:
    with open(args.log) as f:  # restartable: keep what an earlier run created
        created.update(line.strip() for line in f if line.strip())
except FileNotFoundError:
    pass
log = open(args.log, "a", buffering=1)
header_log = open(args.log + ".headers", "a", buffering=1) if args.record_header else None
body_log = open(args.log + ".bodies", "ab", buffering=0) if args.record_body else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stalls

    def log_message(self, *a):
        pass

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def reset(self):
        # SO_LINGER 0: close with RST, no answer.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def do_GET(self):
        if self.path == "/_stats":
            with lock:
                s = dict(stats, unique=len(created), down=state["down"])
            return self.answer(200, s)
        self.answer(404, {"detail": "not found"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if self.path == "/_control":
            with lock:
                state.update(json.loads(raw or b"{}"))
            return self.answer(200, state)
        if self.path == "/auth/token":
            return self.answer(201, {"access_token": "test-token", "token_type": "bearer"})
        parts = self.path.split("/")
        if len(parts) != 6 or parts[1] != "api" or parts[2] not in ("v1", "v2") or parts[3] != "dags" or parts[5] != "dagRuns":
            return self.answer(404, {"detail": "no route " + self.path})
        dag = parts[4]
        if dag.startswith("missing"):  # like Airflow for a DAG it does not know
            return self.answer(404, {"detail": "The DAG with dag_id: `%s` was not found" % dag})
        try:
            body = json.loads(raw)
            run_id = body["dag_run_id"]
        except Exception as e:  # noqa: BLE001
            return self.answer(422, {"detail": "bad body: %s" % e})
        with lock:
            stats["calls"] += 1
            if body_log:
                body_log.write(raw.replace(b"\n", b" ") + b"\n")
            if header_log:
                seen = {h: self.headers.get(h) for h in args.record_header}
                header_log.write(json.dumps({"run_id": run_id, "headers": seen}) + "\n")
            if state["down"]:
                stats["down"] += 1
                action = "down"
            else:
                r = rng.random()
                if r < args.fail_rate:
                    action = "fail"
                elif r < args.fail_rate + args.reset_rate:
                    action = "reset-after" if rng.random() < 0.5 else "reset"
                elif r < args.fail_rate + args.reset_rate + args.slow_rate:
                    action = "slow"
                else:
                    action = "ok"
            if action in ("ok", "slow", "reset-after"):
                if run_id in created:
                    stats["duplicates"] += 1
                    action = "dup" if action == "ok" else action
                    dup = True
                else:
                    created.add(run_id)
                    stats["created"] += 1
                    log.write(run_id + "\n")
                    log.flush()
                    dup = False
        if args.delay:
            time.sleep(args.delay)
        if action == "down":
            return self.answer(503, {"detail": "target is down"})
        if action == "fail":
            with lock:
                stats["failed"] += 1
            return self.answer(500, {"detail": "injected failure"})
        if action in ("reset", "reset-after"):
            with lock:
                stats["resets"] += 1
            return self.reset()
        if action == "slow":
            with lock:
                stats["slow"] += 1
            time.sleep(args.slow_seconds)
        if dup:
            return self.answer(409, {"detail": "DAG run %s already exists for dag %s" % (run_id, dag)})
        self.answer(200, {"dag_run_id": run_id, "dag_id": dag, "state": "queued", "conf": body.get("conf")})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512


def toggle(*_):
    with lock:
        state["down"] = not state["down"]


# A parent (a test runner) may have blocked these signals; the mask is inherited across exec.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGUSR1})
signal.signal(signal.SIGUSR1, toggle)
srv = Server(("127.0.0.1", args.port), Handler)
print("READY %d" % srv.server_address[1], flush=True)
try:
    srv.serve_forever()
except KeyboardInterrupt:
    pass
