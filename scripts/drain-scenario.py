#!/usr/bin/env python3
"""Backlog drains of `dagbridge serve` against a real Apache Airflow 3 (scripts/airflow-testbed.sh), for issue 16's
benchmark (scripts/bench-drain.sh) and its real-Airflow test (Tests/BridgeServerTests/AdaptiveAirflowTests.swift).

  drain-scenario.py drain --airflow-port P [--target-keys YAML] [--events 600] [--label L]
      A fresh Airflow (AIRFLOW_DB=sqlite|postgres from the environment), one `serve` (SQLite journal) with the
      target's settings plus YAML (e.g. "concurrency: fixed, max_in_flight: 1"); N signed GitHub pushes sent at
      once (32 connections); prints one JSON line: accepted, first/last 202, the time the last run appeared in
      Airflow, drain seconds and runs/s, dead letters, the serve process' CPU seconds, and the target's
      concurrency as /admin/targets showed it at the end.
  drain-scenario.py admission --airflow-port P
      Opt-in admission: two targets on one Airflow, `capped` (max_queued_runs: {drain_paused_dag: 10}) and `held`
      (on_paused: hold); 20 pushes for each while `drain_paused_dag` is paused: exactly 10 runs (queued) exist, the
      rest are held without spending attempts (no retries, none dead), /admin/targets and /metrics show them;
      after the DAG is unpaused every push is a run within 60 s.
  drain-scenario.py chaos --airflow-port P [--events 1500]
      The same set-up with default target settings; N pushes at ~30/s while `serve` is SIGKILLed twice (and
      started again on the same journal) and Airflow is stopped for 60 s. Every delivery answered 202 must be
      exactly one run in Airflow, and nothing may be dead or still pending. Exit 1 with what is wrong.

Airflow runs on 127.0.0.1:P; serve on a free port; every process it starts is stopped at exit. The DAG is
`drain_dag` (one EmptyOperator task, which the scheduler completes itself: runs are scheduled, no task processes);
`drain_paused_dag` is the same, paused at creation.
Env: DAGBRIDGE_BIN (default .build/debug/dagbridge), AIRFLOW_VERSION (3.3.2), AIRFLOW_DB, AIRFLOW_PG_URL.
"""
import argparse, hashlib, hmac, http.client, json, os, random, resource, shutil, signal, socket, subprocess, sys
import tempfile, threading, time, uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("DAGBRIDGE_BIN", os.path.join(ROOT, ".build/debug/dagbridge"))
VERSION = os.environ.get("AIRFLOW_VERSION", "3.3.2")
SECRET = "drain-secret"
ADMIN = "drain-admin-token"
DAG = "drain_dag"
PAUSED = "drain_paused_dag"  # paused at creation
DAG_FILE = """
from datetime import datetime
try:
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.operators.empty import EmptyOperator
for dag_id, paused in (("drain_dag", False), ("drain_paused_dag", True)):
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2024, 1, 1), catchup=False, is_paused_upon_creation=paused) as dag:
        EmptyOperator(task_id="nothing")
    globals()[dag_id] = dag
"""


def log(*a):
    print("[drain]", *a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Airflow:
    def __init__(self, port, work):
        self.port, self.base, self.token = port, f"http://127.0.0.1:{port}", None
        self.dags = os.path.join(work, "dags")
        os.makedirs(self.dags, exist_ok=True)
        with open(os.path.join(self.dags, "drain_dag.py"), "w") as f:
            f.write(DAG_FILE)

    def testbed(self, *args, keep=False):
        env = dict(os.environ, EXTRA_DAGS_DIR=self.dags)
        if keep:
            env["KEEP"] = "1"
        r = subprocess.run([os.path.join(ROOT, "scripts/airflow-testbed.sh"), *args], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"airflow-testbed.sh {' '.join(args)} failed ({r.returncode}):\n{r.stderr[-3000:]}")

    def start(self, keep=False):
        self.testbed("restart" if keep else "start", VERSION, str(self.port), keep=keep)
        self.token = None
        deadline = time.time() + 120
        while time.time() < deadline:  # the DAG file is parsed a few seconds after the API answers
            try:  # and the scheduler heartbeats (its start can fail on a locked SQLite; the testbed restarts it)
                if self.get(f"/api/v2/dags/{DAG}")[0] == 200 and self.get("/api/v2/monitor/health")[1]["scheduler"]["status"] == "healthy":
                    return
            except (OSError, KeyError, TypeError):
                pass
            time.sleep(0.5)
        raise SystemExit(f"{DAG} never appeared in Airflow")

    def stop(self):
        self.testbed("stop", str(self.port))

    def get(self, path):
        if self.token is None:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            c.request("POST", "/auth/token", json.dumps({"username": "admin", "password": "admin"}), {"Content-Type": "application/json"})
            self.token = json.loads(c.getresponse().read())["access_token"]
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request("GET", path, headers={"Authorization": "Bearer " + self.token})
        r = c.getresponse()
        return r.status, json.loads(r.read() or b"null")

    def runs(self, dag=DAG):
        status, body = self.get(f"/api/v2/dags/{dag}/dagRuns?limit=1")
        return body["total_entries"] if status == 200 else None

    def set_paused(self, dag, paused):
        for _ in range(20):  # Airflow on SQLite answers 500 "database is locked" while the lanes write
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            c.request("PATCH", f"/api/v2/dags/{dag}", json.dumps({"is_paused": paused}),
                      {"Authorization": "Bearer " + self.token, "Content-Type": "application/json"})
            r = c.getresponse()
            body = r.read()
            if r.status == 200:
                return
            log(f"PATCH {dag} is_paused={paused}: {r.status}; again")
            time.sleep(1)
        raise SystemExit(f"PATCH {dag} is_paused={paused}: {r.status} {body[:300]}")

    def run_ids(self):
        ids, offset = [], 0
        while True:
            status, body = self.get(f"/api/v2/dags/{DAG}/dagRuns?limit=100&offset={offset}&order_by=id")
            if status != 200:
                raise SystemExit(f"listing runs: {status} {body}")
            ids += [r["dag_run_id"] for r in body["dag_runs"]]
            offset += 100
            if offset >= body["total_entries"]:
                return ids


ADMISSION_RULES = """rules:
  - name: capped
    source: [github]
    match: { body: { kind: [capped] } }
    trigger: { target: capped, dag_id: drain_paused_dag, conf: { n: "{{ body.n }}" } }
  - name: held
    source: [github]
    match: { body: { kind: [held] } }
    trigger: { target: held, dag_id: drain_paused_dag, conf: { n: "{{ body.n }}" } }
"""


class Serve:
    def __init__(self, work, airflow, target_keys, rules=None, targets=None):
        self.work, self.port, self.proc = work, free_port(), None
        os.makedirs(os.path.join(work, "rules"), exist_ok=True)
        with open(os.path.join(work, "rules", "r.yaml"), "w") as f:
            f.write(rules or ("rules:\n  - name: gh\n    source: [github]\n    match: { body: { ref: [refs/heads/main] } }\n"
                    f"    trigger: {{ target: airflow, dag_id: {DAG}, conf: {{ n: \"{{{{ body.n }}}}\" }} }}\n"))
        extra = f", {target_keys}" if target_keys else ""
        auth = 'auth: { type: airflow-password, username: admin, password: "${env:DRAIN_AF_PASSWORD}" }'
        targets = targets or {"airflow": extra}
        target_lines = "".join(f'  {name}: {{ url: "{airflow.base}", api: v2, {auth}{keys} }}\n' for name, keys in targets.items())
        with open(os.path.join(work, "dagbridge.yaml"), "w") as f:
            f.write(f"""server: {{ listen: "127.0.0.1:{self.port}", admin_token: "${{env:DRAIN_ADMIN}}", shutdown_timeout: 5s }}
logging: {{ format: logfmt, level: info }}
store: {{ path: "{work}/journal.sqlite", durability: full }}
rules: {{ path: "{work}/rules", watch: false }}
targets:
{target_lines}sources:
  webhooks:
    - name: github
      verify: {{ type: github, secret: "${{env:DRAIN_SECRET}}" }}
""")
        self.starts = 0
        self.cpu = 0.0

    def start(self):
        env = dict(os.environ, DRAIN_ADMIN=ADMIN, DRAIN_SECRET=SECRET, DRAIN_AF_PASSWORD="admin")
        self.starts += 1
        logf = open(os.path.join(self.work, f"serve-{self.starts}.log"), "w")
        self.proc = subprocess.Popen([BIN, "serve", "--config", os.path.join(self.work, "dagbridge.yaml")], env=env,
                                     stdout=logf, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"serve exited ({self.proc.returncode}); see {logf.name}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("serve never answered /healthz")

    def _reap(self):
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.cpu += usage.ru_utime + usage.ru_stime
        self.proc.returncode = status

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self._reap()

    def stop(self):
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            t = time.time()
            while time.time() - t < 20:
                pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
                if pid:
                    self.cpu += usage.ru_utime + usage.ru_stime
                    self.proc.returncode = status
                    return
                time.sleep(0.1)
            self.kill()

    def admin(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request("GET", path, headers={"Authorization": "Bearer " + ADMIN})
        r = c.getresponse()
        return json.loads(r.read())


class Sender:
    """Signed GitHub pushes; each delivery is re-sent (same X-GitHub-Delivery) until it is answered 202."""

    def __init__(self, port, n, rate=None, connections=32):
        self.port, self.n, self.rate, self.connections = port, n, rate, connections
        self.accepted, self.statuses, self.first, self.last = [], {}, None, None
        self.lock, self.next = threading.Lock(), 0
        self.started = time.time()

    def one(self, conn, i, extra=None):
        delivery = f"d{i:05d}-{uuid.uuid4().hex[:8]}"
        body = json.dumps({"ref": "refs/heads/main", "n": i, **(extra or {})}).encode()
        sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": sig}
        while True:
            try:
                if conn[0] is None:
                    conn[0] = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn[0].request("POST", "/hooks/github", body, headers)
                r = conn[0].getresponse()
                r.read()
                status = r.status
            except OSError:
                conn[0], status = None, "conn"
            with self.lock:
                self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
                if status == 202:
                    now = time.time()
                    self.first = self.first or now
                    self.last = now
                    self.accepted.append(delivery)
                    return
            time.sleep(0.2)

    def worker(self):
        conn = [None]
        while True:
            with self.lock:
                i = self.next
                if i >= self.n:
                    return
                self.next += 1
            if self.rate:
                time.sleep(max(0, self.started + i / self.rate - time.time()))
            self.one(conn, i)

    def run(self):
        threads = [threading.Thread(target=self.worker) for _ in range(self.connections)]
        for t in threads:
            t.start()
        return threads


def wait_runs(airflow, want, timeout, poll=0.25, dag=DAG):
    """(time the DAG had `want` runs, runs) or (None, runs at the timeout; None when Airflow could not count them)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            n = airflow.runs(dag)
        except OSError:
            n = None
        if n is not None and n >= want:
            return time.time(), n
        time.sleep(poll)
    try:
        return None, airflow.runs(dag)
    except OSError:  # an Airflow flooded past answering its API in 30 s
        return None, None


def drain(args, work):
    airflow = Airflow(args.airflow_port, work)
    airflow.start()
    serve = Serve(work, airflow, args.target_keys)
    try:
        serve.start()
        base = airflow.runs()
        sender = Sender(serve.port, args.events)
        for t in sender.run():
            t.join()
        done, n = wait_runs(airflow, base + len(sender.accepted), args.timeout)
        n = base - 1 if n is None else n  # runs: -1 when Airflow could not even count them
        targets = serve.admin("/admin/targets")["targets"][0]
        dead = serve.admin("/admin/dlq?limit=1000")
        serve.stop()
        drain_s = (done - sender.first) if done else None
        print(json.dumps({
            "label": args.label, "db": os.environ.get("AIRFLOW_DB", "sqlite"), "accepted": len(sender.accepted), "statuses": sender.statuses,
            "runs": n - base, "send_s": round(sender.last - sender.first, 2), "drain_s": drain_s and round(drain_s, 2),
            "runs_per_s": drain_s and round(len(sender.accepted) / drain_s, 1), "timeout_s": args.timeout, "dead": len(dead.get("jobs", dead.get("items", []))),
            "retries": targets["retries"], "serve_cpu_s": round(serve.cpu, 2), "concurrency": targets.get("concurrency")}), flush=True)
        return 0 if done else 1
    finally:
        serve.stop()
        airflow.stop()


def admission(args, work):
    airflow = Airflow(args.airflow_port, work)
    airflow.start()
    serve = Serve(work, airflow, "", rules=ADMISSION_RULES,
                  targets={"capped": ", max_queued_runs: { drain_paused_dag: 10 }, admission_refresh: 500ms",
                           "held": ", on_paused: hold, admission_refresh: 500ms"})
    problems = []

    def check(ok, what):
        if not ok:
            problems.append(what)
            log("PROBLEM:", what)

    try:
        serve.start()
        base = airflow.runs(PAUSED)
        sender = Sender(serve.port, 0)
        conn = [None]
        for i in range(20):
            sender.one(conn, i, {"kind": "capped"})
            sender.one(conn, 100 + i, {"kind": "held"})
        check(len(sender.accepted) == 40, f"accepted {len(sender.accepted)} of 40")
        # Both holds in place (Airflow on SQLite can be slow to answer the reads and the triggers), then many
        # more refreshes: a leak past the limit would show.
        deadline = time.time() + 60
        while time.time() < deadline:
            targets = {t["target"]: t for t in serve.admin("/admin/targets")["targets"]}
            if targets["capped"]["held_dags"] and targets["held"]["held"]["paused"] == 20:
                break
            time.sleep(0.5)
        time.sleep(5)
        runs = airflow.runs(PAUSED) - base
        check(runs == 10, f"{runs} runs of the paused DAG while max_queued_runs is 10 and held jobs wait (want 10)")
        targets = {t["target"]: t for t in serve.admin("/admin/targets")["targets"]}
        check(targets["capped"]["held"]["queued_runs"] >= 1 and targets["capped"]["held_dags"][0]["reason"] == "queued_runs",
              f"capped target shows no queued_runs hold: {targets['capped']}")
        check(targets["held"]["held"]["paused"] == 20, f"held target shows {targets['held']['held']} held (want paused: 20)")
        for t in targets.values():
            # A hold spends no attempt; were it a retry, each 500 ms re-check would add one (~12 per target by now).
            # A few 500s of Airflow's SQLite under two lanes' posts are real failures.
            check(t["retries"] <= 3 and t["dead"] == 0, f"target {t['target']}: {t['retries']} retries, {t['dead']} dead (holding spends nothing)")
        metrics = http.client.HTTPConnection("127.0.0.1", serve.port, timeout=10)
        metrics.request("GET", "/metrics")
        text = metrics.getresponse().read().decode()
        check('dagbridge_jobs_held_count{target="held",reason="paused"} 20' in text.replace(".0\n", "\n"),
              "metrics lack dagbridge_jobs_held_count{target=held,reason=paused} 20: "
              + "; ".join(l for l in text.splitlines() if "held" in l))
        check("dagbridge_target_concurrency{" in text, "metrics lack dagbridge_target_concurrency")
        airflow.set_paused(PAUSED, False)
        t0 = time.time()
        done, n = wait_runs(airflow, base + 40, 120, poll=0.5, dag=PAUSED)
        check(done is not None, f"after unpausing only {None if n is None else n - base} of 40 runs")
        if done:
            log(f"all 40 runs {done - t0:.1f}s after unpausing")
        targets = {t["target"]: t for t in serve.admin("/admin/targets")["targets"]}
        for t in targets.values():
            check(t["dead"] == 0 and t["delivered"] == 20, f"target {t['target']}: delivered {t['delivered']}, dead {t['dead']}")
        print(json.dumps({"runs_while_paused": runs, "targets": {k: {x: v[x] for x in ("delivered", "retries", "dead", "held")} for k, v in targets.items()},
                          "problems": problems}), flush=True)
        return 1 if problems else 0
    finally:
        serve.stop()
        airflow.stop()


def chaos(args, work):
    airflow = Airflow(args.airflow_port, work)
    airflow.start()
    serve = Serve(work, airflow, args.target_keys)
    problems = []
    try:
        serve.start()
        sender = Sender(serve.port, args.events, rate=args.rate, connections=16)
        threads = sender.run()
        t0 = time.time()
        plan = [(8, "kill serve"), (15, "stop airflow"), (30, "kill serve"), (75, "start airflow")]
        for at, what in plan:
            time.sleep(max(0, t0 + at - time.time()))
            log(f"t={time.time() - t0:.1f}s {what} (accepted so far {len(sender.accepted)})")
            if what == "kill serve":
                serve.kill()
                time.sleep(1)
                serve.start()
            elif what == "stop airflow":
                airflow.stop()
            else:
                airflow.start(keep=True)
        for t in threads:
            t.join()
        log(f"all {len(sender.accepted)} accepted at t={time.time() - t0:.1f}s; statuses {sender.statuses}")
        done, n = wait_runs(airflow, len(sender.accepted), args.timeout, poll=1)
        if not done:
            problems.append(f"only {n} of {len(sender.accepted)} runs in Airflow {args.timeout}s after the last 202")
        else:
            log(f"all runs in Airflow {done - sender.last:.1f}s after the last 202")
        time.sleep(3)  # a duplicate would show now
        ids = airflow.run_ids()
        want = {f"gh__{d}" for d in sender.accepted}
        missing, extra = want - set(ids), set(ids) - want
        if missing:
            problems.append(f"{len(missing)} accepted deliveries have no run, e.g. {sorted(missing)[:3]}")
        if extra:
            problems.append(f"{len(extra)} runs that no 202 asked for, e.g. {sorted(extra)[:3]}")
        if len(ids) != len(set(ids)):
            problems.append("a run id is listed twice")
        dead = serve.admin("/admin/dlq?limit=1000")
        dead_jobs = dead.get("jobs", dead.get("items", []))
        if dead_jobs:
            problems.append(f"{len(dead_jobs)} dead letters, e.g. {dead_jobs[0]}")
        targets = serve.admin("/admin/targets")["targets"][0]
        print(json.dumps({"accepted": len(sender.accepted), "runs": len(ids), "statuses": sender.statuses, "dead": len(dead_jobs),
                          "serve_starts": serve.starts, "target": {k: targets[k] for k in ("delivered", "duplicates", "retries", "breaker", "concurrency")},
                          "problems": problems}), flush=True)
        return 1 if problems else 0
    finally:
        serve.stop()
        airflow.stop()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["drain", "chaos", "admission"])
    p.add_argument("--airflow-port", type=int, required=True)
    p.add_argument("--events", type=int)
    p.add_argument("--target-keys", default="")
    p.add_argument("--label", default="")
    p.add_argument("--rate", type=float, default=30)
    p.add_argument("--timeout", type=float, default=300)
    args = p.parse_args()
    args.events = args.events or (600 if args.mode == "drain" else 1500)
    work = tempfile.mkdtemp(prefix="dagbridge-drain-")
    try:
        code = {"drain": drain, "chaos": chaos, "admission": admission}[args.mode](args, work)
    except SystemExit as e:
        log(f"failed: {e}; files in {work}")
        raise
    if code == 0 and not os.environ.get("KEEP_FILES"):
        shutil.rmtree(work, ignore_errors=True)
    else:
        log(f"files kept in {work}")
    return code


if __name__ == "__main__":
    sys.exit(main())
