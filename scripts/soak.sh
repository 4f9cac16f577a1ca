#!/usr/bin/env bash
# Soak: a release `dagbridge serve` under DURATION of mixed valid and hostile traffic, its RSS sampled every
# 30 s (issue 14, point 8). Passes when there is no 5xx, no crash, every valid delivery got a 2xx, every slow
# sender was cut, and RSS stays flat: the largest mark from WARMUP on is within 10 % of the mark at WARMUP.
# A mark is the lowest of five VmRSS reads 0.2 s apart (what serve keeps between requests; the highest read,
# with whatever bodies were in flight, is in the CSV too).
#
#   scripts/soak.sh                       # DURATION=30m WARMUP=5m VALID_RATE=10 HOSTILE_RATE=20 (per client)
#   DURATION=6m WARMUP=1m scripts/soak.sh # a short run while developing
#
# What it sends (scripts/soak-load.py has the details): valid signed deliveries that match a rule and are
# journaled and delivered to scripts/recording-target.py (GitHub, Slack, generic HMAC, bearer, none; some on
# keep-alive connections); two hostile clients (random bytes, deep and huge JSON up to and over max_body, with
# Content-Length and chunked, broken chunked framing, broken CloudEvents, bad signatures, stale timestamps,
# replays of the valid deliveries, header floods, garbage request lines, unknown paths and methods); and
# SLOW_SOCKETS slow senders (stalled heads, trickled bodies, idle keep-alives) against short server limits.
#
# Environment: DAGBRIDGE_BIN (default .build/release/dagbridge, built when missing; the binary is copied to
# the work folder first, so a rebuild during the run does not change it), DURATION, WARMUP, INTERVAL (30s),
# VALID_RATE, HOSTILE_RATE, SLOW_SOCKETS (6), OUT (the report folder, default /tmp/soak/report-<time>), and
# anything serve reads (MALLOC_ARENA_MAX=2 to compare allocators). Binds 127.0.0.1 only; stops what it started
# on exit. Exit 0 on PASS, 1 on FAIL, 2 when it could not start.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
seconds() {  # 30m, 90s, 1h, 120 -> seconds
  case "$1" in
    *h) echo $(( ${1%h} * 3600 )) ;; *m) echo $(( ${1%m} * 60 )) ;; *s) echo "${1%s}" ;; *) echo "$1" ;;
  esac
}
DURATION_S=$(seconds "${DURATION:-30m}")
WARMUP_S=$(seconds "${WARMUP:-5m}")
INTERVAL_S=$(seconds "${INTERVAL:-30s}")
VALID_RATE=${VALID_RATE:-10}
HOSTILE_RATE=${HOSTILE_RATE:-20}
SLOW_SOCKETS=${SLOW_SOCKETS:-6}
BIN=${DAGBRIDGE_BIN:-$ROOT/.build/release/dagbridge}
SECRET=soak-secret
TOKEN=soak-bearer-token-0123456789
export SOAK_SECRET=$SECRET SOAK_TOKEN=$TOKEN   # serve reads them through ${env:…}

if [ ! -x "$BIN" ]; then (cd "$ROOT" && swift build -c release --product dagbridge >&2); fi
mkdir -p /tmp/soak
W=$(mktemp -d /tmp/soak/run.XXXXXX)
OUT=${OUT:-/tmp/soak/report-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
cp "$BIN" "$W/dagbridge"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The recording target: creates each run once, 409 for a repeated run id.
python3 "$ROOT/scripts/recording-target.py" --port 0 --log "$W/created.txt" >"$W/target.out" 2>"$W/target.err" &
PIDS+=($!)
for _ in $(seq 100); do grep -q READY "$W/target.out" 2>/dev/null && break; sleep 0.1; done
TARGET_PORT=$(awk '/READY/ {print $2}' "$W/target.out")
[ -n "$TARGET_PORT" ] || { echo "recording target did not start" >&2; cat "$W/target.err" >&2; exit 2; }

PORT=$(free_port)
mkdir -p "$W/rules"
cat >"$W/dagbridge.yaml" <<EOF
server:
  listen: "127.0.0.1:$PORT"
  max_body: 1MiB
  header_timeout: 2s
  body_timeout: 3s
  idle_timeout: 4s
  max_connections: 128
logging: { format: logfmt, level: error }
store: { path: journal.sqlite, durability: normal }
rules: { path: rules, watch: false }
targets:
  recorder: { url: "http://127.0.0.1:$TARGET_PORT", api: v2, auth: { type: none }, max_in_flight: 4 }
sources:
  webhooks:
    - name: github
      verify: { type: github, secret: "\${env:SOAK_SECRET}" }
    - name: slack
      verify: { type: slack, secret: "\${env:SOAK_SECRET}" }
    - name: hmac
      verify: { type: hmac, secret: "\${env:SOAK_SECRET}", header: X-Signature, prefix: "sha256=", timestamp_header: X-Timestamp, signed_content: "{timestamp}.{body}" }
    - name: bearer
      verify: { type: bearer, token: "\${env:SOAK_TOKEN}" }
    - name: none
      verify: { type: none }
EOF
cat >"$W/rules/soak.yaml" <<'EOF'
rules:
  - name: github-push
    source: [github]
    match: { headers: { x-github-event: [push] }, body: { ref: [{ prefix: refs/heads/ }] } }
    trigger: { target: recorder, dag_id: ci_build, conf: { commit: "{{ body.after }}" } }
  - name: slack-deploy
    source: [slack]
    match: { body: { command: [/deploy] } }
    trigger: { target: recorder, dag_id: deploy, conf: { service: "{{ body.text }}" } }
  - name: signed-deploy
    source: [hmac, bearer]
    match: { body: { action: [deploy] } }
    trigger: { target: recorder, dag_id: deploy, conf: { build: "{{ body.build }}" } }
  - name: open-deploy
    source: [none]
    match: { body: { action: [deploy] } }
    trigger: { target: recorder, dag_id: deploy, conf: { build: "{{ body.build }}" } }
EOF
"$W/dagbridge" config check --config "$W/dagbridge.yaml" >&2 || exit 2

(cd "$W" && exec "$W/dagbridge" serve --config "$W/dagbridge.yaml" 2>"$W/serve.log") &
SERVE=$!
PIDS+=("$SERVE")
for _ in $(seq 200); do curl -s -o /dev/null -m 1 "http://127.0.0.1:$PORT/readyz" && break; sleep 0.05; done
curl -s -o /dev/null -m 1 "http://127.0.0.1:$PORT/readyz" || { echo "serve did not become ready" >&2; cat "$W/serve.log" >&2; exit 2; }

{
  echo "binary: $BIN ($(stat -c %s "$BIN") bytes, $(date -r "$BIN" '+%F %T'))"
  echo "run: $(date '+%F %T'), DURATION=${DURATION_S}s WARMUP=${WARMUP_S}s VALID_RATE=$VALID_RATE HOSTILE_RATE=$HOSTILE_RATE x2 SLOW_SOCKETS=$SLOW_SOCKETS${MALLOC_ARENA_MAX:+ MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX}; $(nproc) cores"
} | tee "$OUT/summary.txt"
set +e
python3 "$ROOT/scripts/soak-load.py" --port "$PORT" --pid "$SERVE" --duration "$DURATION_S" --interval "$INTERVAL_S" \
  --warmup "$WARMUP_S" --valid-rate "$VALID_RATE" --hostile-rate "$HOSTILE_RATE" --slow-sockets "$SLOW_SOCKETS" \
  --secret "$SECRET" --token "$TOKEN" --header-timeout 2 --body-timeout 3 --idle-timeout 4 \
  --csv "$OUT/rss.csv" --requests-csv "$OUT/requests.csv" --summary "$W/load-summary.txt" 2>"$OUT/load.err"
LOAD=$?
set -e
cat "$W/load-summary.txt" >>"$OUT/summary.txt" 2>/dev/null || { cat "$OUT/load.err" >&2; exit 2; }

# What the service says about itself, then a graceful stop: a crash or an unclean exit fails the run.
curl -s -m 5 "http://127.0.0.1:$PORT/metrics" >"$OUT/metrics.txt" || true
STATS=$(curl -s -m 5 "http://127.0.0.1:$TARGET_PORT/_stats" || echo '{}')
RESULT=0
[ "$LOAD" -eq 0 ] || RESULT=1
if kill -0 "$SERVE" 2>/dev/null; then
  kill -TERM "$SERVE"
  set +e; wait "$SERVE"; CODE=$?; set -e
  [ "$CODE" -eq 0 ] || { echo "serve exited with $CODE after SIGTERM" | tee -a "$OUT/summary.txt"; RESULT=1; }
else
  echo "serve is gone (crash)" | tee -a "$OUT/summary.txt"; RESULT=1
fi
{
  echo "target: $STATS"
  echo "journal: $(du -h "$W/journal.sqlite" | cut -f1) ($(ls "$W" | grep -c journal) files)"
  grep -c . "$W/serve.log" | sed 's/^/serve log lines (level error): /'
  cp "$W/serve.log" "$OUT/serve.log"
  echo "report: $OUT (summary.txt, rss.csv, requests.csv, metrics.txt, serve.log)"
  [ "$RESULT" -eq 0 ] && echo "SOAK PASS" || echo "SOAK FAIL"
} | tee -a "$OUT/summary.txt"
exit "$RESULT"
