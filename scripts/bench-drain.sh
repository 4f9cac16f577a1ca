#!/usr/bin/env bash
# Issue 16's drain benchmark: how fast `dagbridge serve` turns a backlog of 600 signed GitHub pushes into DAG runs of
# a real Apache Airflow 3 (scripts/airflow-testbed.sh, the scheduler running; DAG `drain_dag`, one EmptyOperator task),
# with the adaptive concurrency limit (the default settings) and with fixed max_in_flight 1, 4 and 16, on Airflow's
# SQLite and on Airflow's PostgreSQL, side by side in one run. Each case gets a fresh Airflow and a fresh journal.
# The drain rate is runs/s from the first 202 to the moment the last run exists in Airflow.
#
#   scripts/bench-drain.sh                 (EVENTS=600 DBS="sqlite postgres" CASES="adaptive fixed-1 fixed-4 fixed-16" TIMEOUT=300)
#
# Prints one JSON line per case (scripts/drain-scenario.py drain) and a table. Uses .build/release/dagbridge
# (built when missing); Airflow on 127.0.0.1:${AIRFLOW_PORT:-21480}; PostgreSQL for Airflow from scripts/pg-testbed.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
EVENTS=${EVENTS:-600}
DBS=${DBS:-sqlite postgres}
CASES=${CASES:-adaptive fixed-1 fixed-4 fixed-16}
PORT=${AIRFLOW_PORT:-21480}
export DAGBRIDGE_BIN=${DAGBRIDGE_BIN:-$ROOT/.build/release/dagbridge}
[ -x "$DAGBRIDGE_BIN" ] || swift build -c release --product dagbridge
scripts/airflow-testbed.sh install 3.3.2
OUT=$(mktemp)
PGDIR=""
cleanup() { [ -n "$PGDIR" ] && scripts/pg-testbed.sh stop "$PGDIR" >/dev/null 2>&1; rm -rf "$PGDIR" "$OUT"; }
trap cleanup EXIT
for db in $DBS; do
  if [ "$db" = postgres ]; then
    scripts/pg-testbed.sh install >/dev/null
    PGDIR=$(mktemp -d /tmp/dagbridge-drain-pg.XXXXXX)
    AIRFLOW_PG_URL=$(scripts/pg-testbed.sh start "$PGDIR" | tail -n 1)
    export AIRFLOW_PG_URL
  fi
  for c in $CASES; do
    case $c in
      adaptive) keys="" ;;
      fixed-*) keys="concurrency: fixed, max_in_flight: ${c#fixed-}" ;;
      *) echo "unknown case $c" >&2; exit 2 ;;
    esac
    echo "== Airflow on $db, $c" >&2
    # A case that does not drain within TIMEOUT prints the runs it made by then (runs/s: runs / TIMEOUT).
    AIRFLOW_DB=$db python3 scripts/drain-scenario.py drain --airflow-port "$PORT" --events "$EVENTS" --label "$c" --target-keys "$keys" \
      --timeout "${TIMEOUT:-300}" | tee -a "$OUT" || true
  done
done
python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print(f"{'airflow db':<11} {'case':<9} {'runs':>5} {'drain s':>8} {'runs/s':>7} {'retries':>7} {'dead':>5} {'serve CPU ms/run':>16} {'final limit':>11}")
for r in rows:
    lim = (r.get("concurrency") or {}).get("limit")
    if not r["runs_per_s"]:
        r["runs_per_s"] = round(r["runs"] / float(r.get("timeout_s") or 300), 2)
    cpu = 1000 * r["serve_cpu_s"] / max(1, r["runs"])
    print(f"{r['db']:<11} {r['label']:<9} {r['runs']:>5} {r['drain_s'] or 0:>8} {r['runs_per_s'] or 0:>7} {r['retries']:>7} {r['dead']:>5} {cpu:>16.2f} {lim!s:>11}")
for db in sorted({r["db"] for r in rows}):
    mine = [r for r in rows if r["db"] == db and r["drain_s"]]
    best = max((r for r in mine if r["label"].startswith("fixed")), key=lambda r: r["runs_per_s"], default=None)
    ad = next((r for r in mine if r["label"] == "adaptive"), None)
    if best and ad:
        print(f"{db}: adaptive {ad['runs_per_s']} runs/s = {100 * ad['runs_per_s'] / best['runs_per_s']:.0f} % of the best fixed setting ({best['label']}, {best['runs_per_s']} runs/s)")
PY
