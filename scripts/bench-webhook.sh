#!/usr/bin/env bash
# Webhook ingress benchmark, side by side in one run (issue #5):
#   A. `dagbridge serve` (release build): GitHub signature check, rules, durable journal (durability: full),
#      dispatcher delivering to the stub target;
#   B. the hand-written glue it replaces: Flask + requests under gunicorn (Benchmarks/webhook/flask_webhook.py):
#      signature check, build the conf, POST the run to the same stub target, answer.
# Load: wrk with Benchmarks/webhook/github.lua (signed pushes, a new X-GitHub-Delivery per request).
# Stub target: nginx answering every dagRuns POST with 200 (a healthy, fast Airflow stand-in).
# Reports requests/s, p50/p99 latency, errors, peak RSS under load and startup time (exec → /healthz 200).
#
#   scripts/bench-webhook.sh            (DURATION=15 CONNECTIONS=64 WRK_THREADS=2 SKIP_FLASK=1 to change)
#
# CASE=full (default) is the benchmark. The other cases take work away from dagbridge to show where its
# CPU goes (they imply SKIP_FLASK=1): CASE=healthz (wrk GETs /healthz, no rules: HTTP only), CASE=no-match
# (the same rule, asking for another branch: signature, parse and rules run, nothing is journaled, 200),
# CASE=no-delivery (the target is a closed port: every event journaled, deliveries fail fast and back off).
# The CPU columns are dagbridge's CPU time per request (serve, the database when PG_DIR is given, and both),
# and both per request or delivery made meanwhile.
#
# STORE=postgres journals to the PostgreSQL database at DAGBRIDGE_DATABASE_URL instead of a SQLite file
# (pool POOL=8, durability full); REPLICAS=N starts N `serve` sharing it and spreads wrk's threads over their
# ports (WRK_THREADS a multiple of N; one wrk, so one latency distribution); PG_DIR=DIR (the scripts/pg-testbed.sh
# cluster behind the URL) adds every process of that cluster to the CPU. LABEL names the row.
# scripts/bench-webhook-fleet.sh runs SQLite, PostgreSQL and two replicas on PostgreSQL side by side.
#
# Installs what it needs: wrk, nginx (apt), flask/gunicorn/requests (cached venv), and builds
# .build/release/dagbridge when missing. Everything binds 127.0.0.1 on free ports and is stopped at exit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-2}
CACHE=${DAGBRIDGE_CACHE:-/tmp/dagbridge-testbed}
VENV=$CACHE/bench-webhook-venv
BIN=${DAGBRIDGE_BIN:-$ROOT/.build/release/dagbridge}
SECRET="bench-webhook-secret"
CASE=${CASE:-full}
STORE=${STORE:-sqlite}
REPLICAS=${REPLICAS:-1}
POOL=${POOL:-8}
PG_DIR=${PG_DIR:-}
case "$CASE" in
  full) ;;
  healthz|no-match|no-delivery) SKIP_FLASK=1 ;;
  *) echo "CASE must be full, healthz, no-match or no-delivery (got '$CASE')" >&2; exit 2 ;;
esac
case "$STORE" in
  sqlite) [ "$REPLICAS" = 1 ] || { echo "REPLICAS=$REPLICAS needs STORE=postgres: a SQLite journal belongs to one process" >&2; exit 2; } ;;
  postgres) [ -n "${DAGBRIDGE_DATABASE_URL:-}" ] || { echo "STORE=postgres needs DAGBRIDGE_DATABASE_URL (scripts/bench-webhook-fleet.sh starts a cluster)" >&2; exit 2; } ;;
  *) echo "STORE must be sqlite or postgres (got '$STORE')" >&2; exit 2 ;;
esac
[[ $REPLICAS =~ ^[1-9][0-9]*$ ]] && (( WRK_THREADS % REPLICAS == 0 )) \
  || { echo "REPLICAS ($REPLICAS) must be a positive divisor of WRK_THREADS ($WRK_THREADS)" >&2; exit 2; }
[ -z "$PG_DIR" ] || [ -f "$PG_DIR/data/postmaster.pid" ] || { echo "PG_DIR=$PG_DIR holds no running cluster" >&2; exit 2; }

need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk || ! need nginx; then apt-get update -qq && apt-get install -y -qq wrk nginx >/dev/null; fi
if [ ! -x "$VENV/bin/gunicorn" ] && [ -z "${SKIP_FLASK:-}" ]; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q flask==3.1.2 gunicorn==23.0.0 requests==2.32.5
fi
if [ ! -x "$BIN" ]; then (cd "$ROOT" && swift build -c release --product dagbridge >&2); fi

W=$(mktemp -d /tmp/dagbridge-bench-webhook.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null || true
  sleep 0.5; rm -rf "$W"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }

# The stub target.
STUB=$(free_port)
mkdir -p "$W/nginx"
cat >"$W/nginx.conf" <<EOF
worker_processes 1;
pid $W/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $W/nginx; proxy_temp_path $W/nginx; fastcgi_temp_path $W/nginx; uwsgi_temp_path $W/nginx; scgi_temp_path $W/nginx;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$STUB;
    location / { default_type application/json; return 200 '{"state":"queued"}'; }
  }
}
EOF
nginx -c "$W/nginx.conf" -p "$W/nginx"

BODY=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), separators=(",",":")))' "$ROOT/examples/events/github-push.json")
SIG="sha256=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.*= //')"
export WRK_BODY="$BODY" WRK_SIGNATURE="$SIG"

wait_healthy() {  # url pid → prints ms waited; fails if the process dies
  local start=$1 url=$2 pid=$3
  for _ in $(seq 1 2000); do
    kill -0 "$pid" 2>/dev/null || { echo "process $pid exited" >&2; return 1; }
    if curl -s -o /dev/null -m 1 "$url"; then echo $(( $(now_ms) - start )); return 0; fi
    sleep 0.002
  done
  echo "not healthy: $url" >&2; return 1
}
cpu_ticks_of() { local t=0 p; for p in "$@"; do t=$(( t + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0) )); done; echo $t; }
# Every process of the PG_DIR cluster: the postmaster's own time and that of its children that exited (cutime,
# cstime: backends that ended in the window are not lost), plus each live child's.
db_ticks() {
  [ -n "$PG_DIR" ] || { echo 0; return; }
  local pm; pm=$(head -n 1 "$PG_DIR/data/postmaster.pid")
  echo $(( $(awk '{print $14+$15+$16+$17}' "/proc/$pm/stat") + $(cpu_ticks_of $(pgrep -P "$pm")) ))
}
rss_of() { local kb=0 p; for p in "$@"; do kb=$(( kb + $(awk '/VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0) )); done; echo $kb; }
run_load() {  # name "url..." db(yes|no) pids... → one result line; wrk's threads are spread over the urls' ports
  local name=$1 urls=$2 db=$3; shift 3
  local url=${urls%% *} script="$ROOT/Benchmarks/webhook/github.lua"
  [ "$CASE" = healthz ] && export WRK_GET=/healthz
  if [ "$url" != "$urls" ]; then export WRK_PORTS; WRK_PORTS=$(sed -E 's|http://127\.0\.0\.1:||g; s| |,|g' <<<"$urls"); else unset WRK_PORTS; fi
  WRK_RUN="warm-$name" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d2s -s "$script" "$url" >/dev/null 2>&1 || true
  local peak=0 out cpu0 cpu1 dbcpu0=0 dbcpu1=0 done0 done1
  (while true; do r=$(rss_of "$@"); [ "$r" -gt "$(cat "$W/peak-$name" 2>/dev/null || echo 0)" ] && echo "$r" >"$W/peak-$name"; sleep 0.2; done) &
  local sampler=$!
  done0=$(deliveries $urls)
  [ "$db" = no ] || dbcpu0=$(db_ticks)
  cpu0=$(cpu_ticks_of "$@")
  out=$(WRK_RUN="run-$name" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$script" "$url" 2>&1)
  cpu1=$(cpu_ticks_of "$@")
  [ "$db" = no ] || dbcpu1=$(db_ticks)
  done1=$(deliveries $urls)
  kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
  peak=$(cat "$W/peak-$name" 2>/dev/null || echo 0)
  local line; line=$(grep '^RESULT' <<<"$out") || { echo "$out" >&2; return 1; }
  eval "${line#RESULT }"   # requests= duration_us= p50_us= p99_us= errors= non2xx=
  awk -v n="$name" -v r="$requests" -v d="$duration_us" -v p50="$p50_us" -v p99="$p99_us" -v e="$errors" -v x="$non2xx" -v rss="$peak" \
    -v cpu="$(( cpu1 - cpu0 ))" -v dbcpu="$(( dbcpu1 - dbcpu0 ))" -v db="$db" -v hz="$(getconf CLK_TCK)" -v dl="$(( done1 - done0 ))" \
    'BEGIN { us = 1e6/hz/(r>0?r:1); dbcol = db == "no" ? sprintf("%6s", "-") : sprintf("%6.0f", dbcpu*us)
             printf "| %-28s | %8.0f | %7.2f | %7.2f | %6d | %6d | %6.0f | %17.0f | %s | %7.0f | %15.0f |", n, r/(d/1e6), p50/1000, p99/1000, e, x,
             rss/1024, cpu*us, dbcol, (cpu+dbcpu)*us, 1e6*(cpu+dbcpu)/hz/(r+dl>0?r+dl:1) }'
}
deliveries() {  # url... → dagbridge's delivered jobs so far, summed (0 for a server without /metrics)
  local u; for u in "$@"; do curl -s -m 2 "$u/metrics" 2>/dev/null; done \
    | awk '/^dagbridge_jobs_total\{.*outcome="delivered"/ { n += $2 } END { printf "%d", n }'
}

# A. dagbridge serve: REPLICAS of them, sharing the PostgreSQL journal when there are several
mkdir -p "$W/dagbridge/rules"
case "$CASE" in
  healthz) ;;
  no-match) sed -e 's/target: airflow-local/target: stub/' -e 's|refs/heads/main\]|refs/heads/release]|' "$ROOT/rules/github.yaml" >"$W/dagbridge/rules/github.yaml" ;;
  *) sed 's/target: airflow-local/target: stub/' "$ROOT/rules/github.yaml" >"$W/dagbridge/rules/github.yaml" ;;
esac
TARGET_PORT=$STUB
[ "$CASE" = no-delivery ] && TARGET_PORT=$(free_port)   # nothing listens there
STORE_YAML='store: { path: journal.sqlite, durability: full, high_water: 10000000, low_water: 9000000 }'
[ "$STORE" = sqlite ] || STORE_YAML='store: { backend: postgres, url: "${env:DAGBRIDGE_DATABASE_URL}", pool: '"$POOL"', durability: full, high_water: 10000000, low_water: 9000000 }'
DB_PORTS=(); DB_PIDS=(); DB_URLS=()
for i in $(seq 1 "$REPLICAS"); do
DB_PORT=$(free_port)
cat >"$W/dagbridge/dagbridge-$i.yaml" <<EOF
server: { listen: "127.0.0.1:$DB_PORT" }
logging: { format: logfmt, level: warning }
$STORE_YAML
rules: { path: rules }
targets:
  stub: { url: "http://127.0.0.1:$TARGET_PORT", api: v2, auth: { type: none }, max_in_flight: 32 }
sources:
  webhooks:
    - name: github
      verify: { type: github, secret: "\${env:BENCH_WEBHOOK_SECRET}" }
EOF
T0=$(now_ms)
BENCH_WEBHOOK_SECRET=$SECRET "$BIN" serve --config "$W/dagbridge/dagbridge-$i.yaml" 2>"$W/dagbridge/serve-$i.log" &
DB_PID=$!; PIDS+=("$DB_PID")
START=$(wait_healthy "$T0" "http://127.0.0.1:$DB_PORT/readyz" "$DB_PID") || { cat "$W/dagbridge/serve-$i.log" >&2; exit 1; }
DB_START=${DB_START:+$DB_START, }$START
DB_PORTS+=("$DB_PORT"); DB_PIDS+=("$DB_PID"); DB_URLS+=("http://127.0.0.1:$DB_PORT")
done

# B. Flask + requests under gunicorn (2 workers x 8 threads: one per core, threads for the outbound POST).
if [ -z "${SKIP_FLASK:-}" ]; then
  FL_PORT=$(free_port)
  T0=$(now_ms)
  (cd "$ROOT/Benchmarks/webhook" && WEBHOOK_SECRET="$SECRET" TARGET_URL="http://127.0.0.1:$STUB/api/v2/dags/ci_build/dagRuns" \
    exec "$VENV/bin/gunicorn" -w 2 --threads 8 -b "127.0.0.1:$FL_PORT" --log-level warning flask_webhook:app 2>"$W/gunicorn.log") &
  FL_PID=$!; PIDS+=("$FL_PID")
  FL_START=$(wait_healthy "$T0" "http://127.0.0.1:$FL_PORT/healthz" "$FL_PID") || { cat "$W/gunicorn.log" >&2; exit 1; }
fi

STORE_NAME="SQLite (full fsync)"; [ "$STORE" = sqlite ] || STORE_NAME="PostgreSQL (pool $POOL)"
DB_CPU=no; [ -z "$PG_DIR" ] || DB_CPU=yes
echo "case $CASE: wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s, signed GitHub push ($(printf '%s' "$BODY" | wc -c) bytes), stub target nginx; $(nproc) cores;" \
  "$REPLICAS serve on $STORE_NAME$( [ "$REPLICAS" = 1 ] || echo ", wrk's threads spread over ports ${DB_PORTS[*]}")"
echo
echo "| server                       |    req/s | p50 ms  | p99 ms  | errors | non2xx | RSS MB | CPU µs/req: serve |     db |   total | µs/(req+deliv.) |"
echo "|------------------------------|----------|---------|---------|--------|--------|--------|-------------------|--------|---------|-----------------|"
echo "$(run_load "${LABEL:-dagbridge serve (full fsync)}" "${DB_URLS[*]}" "$DB_CPU" "${DB_PIDS[@]}")"
if [ -z "${SKIP_FLASK:-}" ]; then
  echo "$(run_load "Flask + requests (gunicorn)" "http://127.0.0.1:$FL_PORT" no "$FL_PID" $(pgrep -P "$FL_PID" || true))"
fi
echo
echo "startup (exec → first 200 from /readyz, /healthz for Flask): dagbridge ${DB_START} ms${FL_START:+, Flask/gunicorn ${FL_START} ms}"
# Every acknowledged delivery is journaled; how many the dispatcher has delivered to the stub so far. With
# several replicas, each one's share (a replica taking no traffic shows here), then what its log says.
for i in "${!DB_URLS[@]}"; do
  M=$(curl -s "${DB_URLS[$i]}/metrics")
  echo "dagbridge${DB_URLS[1]:+ replica $((i + 1))}: events received $(grep -E '^dagbridge_events_received_total' <<<"$M" | awk '{ n += $2 } END { print n + 0 }'), jobs journaled $(grep -E '^dagbridge_jobs_created_total' <<<"$M" | awk '{ n += $2 } END { print n + 0 }'), delivered so far $(grep -E 'dagbridge_jobs_total\{.*outcome="delivered"' <<<"$M" | awk '{ n += $2 } END { print n + 0 }')"
done
for i in "${!DB_URLS[@]}"; do
  LOG="$W/dagbridge/serve-$((i + 1)).log"
  [ -s "$LOG" ] || continue
  echo "serve${DB_URLS[1]:+ replica $((i + 1))} logged $(wc -l <"$LOG") lines at warning or above; the first 5:"
  head -n 5 "$LOG" | cut -c 1-400 | sed 's/^/  /'
done
