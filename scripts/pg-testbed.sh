#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for dagbridge's journal tests and benchmarks (Debian's
# postgresql package; scripts/setup.sh --test installs it).
#
#   scripts/pg-testbed.sh check               exit 0 when initdb, pg_ctl, psql and openssl are installed, else
#                                             print what is missing and exit 3
#   scripts/pg-testbed.sh install             install Debian's postgresql (and openssl) when missing; idempotent
#   scripts/pg-testbed.sh start DIR [PORT]    a new cluster in DIR, started; prints one line, its URL:
#                                             postgres://dagbridge:PASSWORD@127.0.0.1:PORT/dagbridge
#                                             (PORT: default a free one picked at random in 55400-55999)
#   scripts/pg-testbed.sh stop DIR            pg_ctl stop -m fast (ok when it is not running)
#   scripts/pg-testbed.sh restart DIR         pg_ctl restart -m immediate: a crash and crash recovery, as in a failover
#   scripts/pg-testbed.sh kill DIR            pg_ctl stop -m immediate (a crash), and it stays down ...
#   scripts/pg-testbed.sh start-again DIR     ... until this starts it again on the same port with the same data
#   scripts/pg-testbed.sh psql DIR [SQL]      psql as the superuser over the unix socket, database dagbridge; with SQL
#                                             it runs that and prints bare rows (-At), stopping at the first error
#   scripts/pg-testbed.sh url DIR             print the URL again
#
# Everything lives in DIR (created if missing; it must not hold an earlier cluster): data/ (the cluster),
# password, url, port, postgres.log, the unix socket, and TLS files: ca.crt (a throwaway CA, for
# sslrootcert) and server.crt/server.key (CN and SAN localhost, SAN IP 127.0.0.1, signed by that CA).
# The superuser is dagbridge with a random password; host connections (TLS or not) need it
# (scram-sha-256), the unix socket in DIR trusts. Durability is what the benchmarks measure, so fsync and
# synchronous_commit stay on; only initdb itself skips its fsync (--no-sync), as the cluster is new.
# No command deletes DIR: the caller removes it after `stop`. PostgreSQL: the newest /usr/lib/postgresql/*/bin,
# or $PG_BIN.
#
# Run as root, the cluster runs as the OS user postgres (PostgreSQL refuses root): DIR is given to postgres,
# so every folder above DIR must be searchable by it (as /tmp/... folders are).
set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin     # runuser
PORTS_FROM=55400
PORTS_TO=55999
SUPERUSER=dagbridge
DATABASE=dagbridge

die() { echo "pg-testbed: $*" >&2; exit 1; }

# The newest PostgreSQL of Debian's layout, or $PG_BIN.
pg_bin() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] || return 1
  echo "$d"
}

missing() {
  local m=() bin t
  if bin=$(pg_bin); then
    for t in initdb pg_ctl postgres psql; do [ -x "$bin/$t" ] || m+=("$t"); done
  else
    m+=("initdb pg_ctl postgres psql (no /usr/lib/postgresql/*/bin)")
  fi
  command -v openssl >/dev/null 2>&1 || m+=(openssl)
  if [ "$(id -u)" = 0 ]; then
    command -v runuser >/dev/null 2>&1 || m+=(runuser)
    id postgres >/dev/null 2>&1 || m+=("the OS user postgres")
  fi
  echo "${m[*]}"
}

install() {
  [ -n "$(missing)" ] || return 0
  exec 9>/tmp/dagbridge-pg-testbed-install.lock; flock 9     # parallel test processes may install at once
  if [ -n "$(missing)" ]; then
    local SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    echo "pg-testbed: installing postgresql openssl" >&2
    # Never let the package start its own cluster on :5432: tests start theirs on 127.0.0.1.
    local policy_added=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d; policy_added=1
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql openssl >/dev/null
    [ -n "$policy_added" ] && $SUDO rm -f /usr/sbin/policy-rc.d
    local m; m=$(missing)
    [ -z "$m" ] || die "still missing after apt-get install postgresql: $m"
  fi
  exec 9>&-
}

# Runs a PostgreSQL program as the cluster's owner: postgres when we are root, else ourselves. Descriptors
# above 2 are closed first: the server pg_ctl leaves running must not hold a test process's sockets or files.
as_owner() {
  (
    cd "$DIR"
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2 && fd != 255)) && eval "exec $fd>&-" 2>/dev/null || true
    done
    if [ "$(id -u)" = 0 ]; then exec runuser -u postgres -- "$@"; else exec "$@"; fi
  )
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pg_ctl start on the configured port; on failure what it logged is in $START_LOG (and on stderr unless quiet).
pg_start() {
  local from=0; [ ! -f "$DIR/postgres.log" ] || from=$(wc -c <"$DIR/postgres.log")
  if as_owner "$BIN/pg_ctl" start -D "$DIR/data" -l "$DIR/postgres.log" -w -t 30 -s >/dev/null 2>"$DIR/pg_ctl.err"; then return 0; fi
  START_LOG=$(tail -c +"$((from + 1))" "$DIR/postgres.log" | tail -n 20; cat "$DIR/pg_ctl.err")
  [ "${1:-}" = quiet ] || echo "$START_LOG" >&2
  return 1
}

running() { as_owner "$BIN/pg_ctl" status -D "$DIR/data" >/dev/null 2>&1; }

stop_with() {   # stop_with MODE: ok when nothing runs
  [ -d "$DIR/data" ] || return 0
  running || return 0
  as_owner "$BIN/pg_ctl" stop -D "$DIR/data" -m "$1" -w -t 60 -s >&2
}

certificates() {
  local days=30
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$days" \
    -subj "/CN=dagbridge pg-testbed CA" -keyout "$DIR/ca.key" -out "$DIR/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null \
    || die "openssl: cannot make the CA"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=localhost" -keyout "$DIR/server.key" -out "$DIR/server.csr" 2>/dev/null \
    || die "openssl: cannot make the server key"
  openssl x509 -req -in "$DIR/server.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -CAcreateserial -days "$days" \
    -out "$DIR/server.crt" -extfile <(printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1") 2>/dev/null \
    || die "openssl: cannot sign the server certificate"
  rm -f "$DIR/server.csr" "$DIR/ca.srl"
  chmod 0600 "$DIR/server.key" "$DIR/ca.key"; chmod 0644 "$DIR/ca.crt" "$DIR/server.crt"
}

start() {
  local want=${1:-}
  [ -z "$want" ] || [[ $want =~ ^[0-9]+$ ]] || die "PORT must be a number, found '$want'"
  local m; m=$(missing)
  [ -z "$m" ] || die "missing: $m (scripts/pg-testbed.sh install, or scripts/setup.sh --test)"
  [ ! -e "$DIR/data" ] || die "$DIR already holds a cluster; stop it and use a fresh folder"
  trap '[ -n "${ready:-}" ] || stop_with immediate >/dev/null 2>&1 || true' EXIT

  local password; password=$(openssl rand -hex 16)
  ( umask 077; echo "$password" >"$DIR/password" )
  certificates
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$DIR" "$DIR/password" "$DIR/server.key"
    runuser -u postgres -- test -w "$DIR" \
      || die "the OS user postgres cannot write $DIR: every folder above it must be searchable by others (chmod o+x)"
  fi

  # --no-sync: a fresh throwaway cluster; the server itself runs with fsync on.
  as_owner "$BIN/initdb" -D "$DIR/data" -U "$SUPERUSER" --pwfile="$DIR/password" -E UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync --no-instructions >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
  as_owner sh -c "echo \"include 'testbed.conf'\" >>'$DIR/data/postgresql.conf'"

  local port tries=0
  while :; do
    tries=$((tries + 1))
    port=${want:-$(shuf -i "$PORTS_FROM-$PORTS_TO" -n 1)}
    if [ -z "$want" ] && port_open "$port"; then ((tries < 50)) || die "no free port in $PORTS_FROM-$PORTS_TO"; continue; fi
    as_owner tee "$DIR/data/testbed.conf" >/dev/null <<EOF
# pg-testbed.sh: a throwaway cluster for tests and benchmarks.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$DIR'
max_connections = 200
password_encryption = 'scram-sha-256'
fsync = on
synchronous_commit = on
ssl = on
ssl_cert_file = '$DIR/server.crt'
ssl_key_file = '$DIR/server.key'
EOF
    pg_start quiet && break
    # Another cluster (or anything else) may have taken the port between the check and the bind.
    if [ -z "$want" ] && ((tries < 10)) && grep -q "Address already in use" <<<"$START_LOG"; then continue; fi
    echo "$START_LOG" >&2
    die "the server did not start on 127.0.0.1:$port (log: $DIR/postgres.log)"
  done

  "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$port" -U "$SUPERUSER" -d postgres \
    -c "CREATE DATABASE $DATABASE" >/dev/null || die "CREATE DATABASE $DATABASE failed"
  local url="postgres://$SUPERUSER:$password@127.0.0.1:$port/$DATABASE"
  echo "$port" >"$DIR/port"
  ( umask 077; echo "$url" >"$DIR/url" )
  ready=1
  echo "$url"
}

cmd=${1:-}
usage="usage: $0 check | install | start DIR [PORT] | stop DIR | restart DIR | kill DIR | start-again DIR | psql DIR [SQL] | url DIR"
case $cmd in
check) m=$(missing); [ -z "$m" ] || { echo "pg-testbed: missing: $m (scripts/pg-testbed.sh install)"; exit 3; }; echo "ok" ;;
install) install ;;
start)
  (($# == 2 || $# == 3)) || die "$usage"
  mkdir -p "$2"; DIR=$(cd "$2" && pwd); BIN=$(pg_bin) || die "PostgreSQL is not installed (scripts/pg-testbed.sh install)"
  start "${3:-}"
  ;;
stop|restart|kill|start-again|psql|url)
  (($# >= 2)) || die "$usage"
  [ -d "$2" ] || die "no folder $2"
  DIR=$(cd "$2" && pwd); BIN=$(pg_bin) || die "PostgreSQL is not installed (scripts/pg-testbed.sh install)"
  [ "$cmd" = stop ] || [ -f "$DIR/port" ] || die "$DIR holds no started cluster"
  case $cmd in
  stop) stop_with fast ;;
  kill) stop_with immediate ;;
  restart)
    as_owner "$BIN/pg_ctl" restart -D "$DIR/data" -l "$DIR/postgres.log" -m immediate -w -t 60 -s >&2 \
      || { tail -n 20 "$DIR/postgres.log" >&2; die "restart failed"; }
    ;;
  start-again) running || pg_start || die "the server did not start again (log: $DIR/postgres.log)" ;;
  psql)
    if (($# >= 3)); then
      exec "$BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$DIR" -p "$(<"$DIR/port")" -U "$SUPERUSER" -d "${PGTESTBED_DATABASE:-$DATABASE}" -c "$3"
    fi
    exec "$BIN/psql" -X -h "$DIR" -p "$(<"$DIR/port")" -U "$SUPERUSER" -d "$DATABASE"
    ;;
  url) cat "$DIR/url" ;;
  esac
  ;;
*) die "$usage" ;;
esac
