#!/usr/bin/env bash
# The webhook benchmark on the two journals, side by side in one run (issue 15): scripts/bench-webhook.sh
# (CASE=full: signed GitHub pushes that match a rule, journaled with durability full and delivered to the nginx
# stub while the load runs) against
#   sqlite     1 `serve` on a SQLite file;
#   postgres   1 `serve` on PostgreSQL (pool 8);
#   postgres×2 2 `serve` sharing one PostgreSQL database, wrk's two threads on one port each;
# the same wrk load for each (-t2 -c64, DURATION seconds). The database is a throwaway cluster of
# scripts/pg-testbed.sh on 127.0.0.1 (fsync and synchronous_commit on, no TLS: sslmode=disable), a fresh
# database per case, dropped after it; its processes' CPU (from /proc, exited backends included) is
# counted with serve's, so "total" is what a request costs the machine apart from wrk and nginx.
#
#   scripts/bench-webhook-fleet.sh          (DURATION=10 RUNS=1 CASES="sqlite postgres postgres2" to change)
#
# RUNS=2 runs the three cases twice, interleaved, and prints every row. Everything started is stopped at exit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export DURATION=${DURATION:-10}
RUNS=${RUNS:-1}
CASES=${CASES:-sqlite postgres postgres2}
TESTBED=$ROOT/scripts/pg-testbed.sh
BIN=${DAGBRIDGE_BIN:-$ROOT/.build/release/dagbridge}

"$TESTBED" check >/dev/null || "$TESTBED" install
if [ ! -x "$BIN" ]; then (cd "$ROOT" && swift build -c release --product dagbridge >&2); fi

PG=$(mktemp -d /tmp/dagbridge-bench-fleet.XXXXXX)
OUT=$(mktemp -d /tmp/dagbridge-bench-fleet-out.XXXXXX)
cleanup() { "$TESTBED" stop "$PG" >/dev/null 2>&1 || true; rm -rf "$PG" "$OUT"; }
trap cleanup EXIT
URL=$("$TESTBED" start "$PG")
BASE=${URL%/*}     # postgres://dagbridge:PASSWORD@127.0.0.1:PORT
echo "PostgreSQL $("$TESTBED" psql "$PG" "SHOW server_version"), fsync=$("$TESTBED" psql "$PG" "SHOW fsync"), synchronous_commit=$("$TESTBED" psql "$PG" "SHOW synchronous_commit"), on 127.0.0.1:$(<"$PG/port"); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo

ROWS=()
for run in $(seq 1 "$RUNS"); do
  for c in $CASES; do
    env=(CASE=full SKIP_FLASK=1 DAGBRIDGE_BIN="$BIN")
    case $c in
      sqlite) env+=(STORE=sqlite LABEL="1 x serve, SQLite") ;;
      postgres) env+=(STORE=postgres REPLICAS=1 PG_DIR="$PG" LABEL="1 x serve, PostgreSQL") ;;
      postgres2) env+=(STORE=postgres REPLICAS=2 PG_DIR="$PG" LABEL="2 x serve, PostgreSQL") ;;
      *) echo "CASES: sqlite, postgres, postgres2 (got '$c')" >&2; exit 2 ;;
    esac
    db=""
    if [ "$c" != sqlite ]; then
      db="bench_${c}_$run"
      "$TESTBED" psql "$PG" "CREATE DATABASE $db"
      "$TESTBED" psql "$PG" "SELECT pg_stat_reset_shared('wal')" >/dev/null
      env+=(DAGBRIDGE_DATABASE_URL="$BASE/$db?sslmode=disable")
    fi
    echo "== run $run, $c (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    env "${env[@]}" "$ROOT/scripts/bench-webhook.sh" | tee "$OUT/$c-$run.txt"
    if [ -n "$db" ]; then
      # What the database did for the whole case (warm-up, window, and deliveries until serve stopped), per
      # event serve received: transactions committed, WAL flushes (fdatasync), WAL written.
      sleep 1   # backends flush their statistics when they end
      read -r events delivered < <(awk '/events received/ { for (i = 1; i <= NF; i++) { if ($i == "received") e += $(i + 1); if ($i == "so" && $(i + 1) == "far") d += $(i + 2) } }
        END { print e + 0, d + 0 }' FS='[ ,]+' "$OUT/$c-$run.txt")
      "$TESTBED" psql "$PG" "SELECT d.xact_commit, w.wal_sync, w.wal_bytes FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = '$db'" \
        | awk -F'|' -v e="$events" -v d="$delivered" '{ printf "database, per event received (%d events, %d jobs delivered): %.2f commits, %.2f WAL flushes, %.1f KB of WAL\n", e, d, $1/e, $2/e, $3/e/1024 }'
      echo "jobs in $db by state: $(PGTESTBED_DATABASE=$db "$TESTBED" psql "$PG" \
        "SELECT string_agg(state || ' ' || n, ', ') FROM (SELECT state, count(*) n FROM dagbridge.jobs GROUP BY state ORDER BY state) s" 2>&1)"
      "$TESTBED" psql "$PG" "DROP DATABASE $db WITH (FORCE)"    # also a checkpoint: the next case starts clean
    fi
    echo
    ROWS+=("$(grep -E '^\| [12] x serve' "$OUT/$c-$run.txt")")
  done
done

echo "wrk -t2 -c64 -d${DURATION}s, CASE=full; CPU of every serve and (PostgreSQL rows) every process of the cluster, per request"
echo
echo "| case                         |    req/s | p50 ms  | p99 ms  | errors | non2xx | RSS MB | CPU µs/req: serve |     db |   total | µs/(req+deliv.) |"
echo "|------------------------------|----------|---------|---------|--------|--------|--------|-------------------|--------|---------|-----------------|"
printf '%s\n' "${ROWS[@]}"
