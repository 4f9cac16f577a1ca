#!/usr/bin/env bash
# Real Apache Airflow on 127.0.0.1 for dagbridge's integration tests (SQLite, user admin/admin, fresh DB each start).
#
#   scripts/airflow-testbed.sh start VERSION PORT   e.g. start 3.3.2 21080  |  start 2.11.2 21081  |  start 1.10.15 21082
#   scripts/airflow-testbed.sh stop PORT
#   scripts/airflow-testbed.sh install VERSION      only build the cached venv
#   scripts/airflow-testbed.sh python VERSION       the interpreter VERSION uses; exit 3 with the reason if there is none
#
# Installs what it needs itself: `python3 -m venv` + `pip install apache-airflow==VERSION` into a cached venv
# under ${DAGBRIDGE_CACHE:-/tmp/dagbridge-testbed}/airflow (20-30 s the first time, then reused), migrates a
# SQLite DB once per version (cached), and starts the API server (3.x) or webserver (2.x) plus what runs DAGs.
# Prints one line `READY <base-url>` on success.
#
# DAGs: `demo_dag` (unpaused) and `paused_dag` (paused at creation), plus every *.py in $EXTRA_DAGS_DIR.
# Env: KEEP=1 (restart on the same port keeping the DB, DAGs and JWT secret of the last start),
#      PYTHON (default python3), EXPERIMENTAL_API=True (2.x: enables /api/experimental, which then needs no
#      credentials), JWT_EXPIRATION (3.x: token lifetime in seconds, default 86400).
# SQLite caveat: send API writes serially (concurrent POSTs to 3.x fail with "database is locked" -> 500).
#
# AIRFLOW_DB=postgres (2.x and 3.x): Airflow's metadata database on PostgreSQL, as production runs it. With
# AIRFLOW_PG_URL=postgres://USER:PASSWORD@127.0.0.1:PORT/DB (a server the caller started, e.g. the journal tests'
# scripts/pg-testbed.sh cluster) each start gets a fresh database airflow_<port> in that server, copied from a
# migrated template database airflow_tpl_<version> (migrated once per server); without it the testbed starts a
# cluster of its own in the run folder (scripts/pg-testbed.sh), which `stop` stops. The venv gets psycopg2-binary
# and asyncpg. KEEP=1 restarts keep that database.
#
# Airflow 1.10 (1.x): needs Python 3.8, which comes with the machine (pyenv's, or only $PYTHON38 if set), never from a
# registry; without one `install`/`start`/`python` exit 3 saying so. pip installs it with the pins below
# (~2 min). No users and no API auth (auth backend `default`): only /api/experimental; no scheduler (runs are
# created and stay running; nothing executes them).
set -euo pipefail
BASE=${DAGBRIDGE_CACHE:-/tmp/dagbridge-testbed}/airflow
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-python3}

# Libraries released after Airflow 1.10.15 that break it (its own requirements leave them open).
AIRFLOW1_PINS=("SQLAlchemy<1.4" "Flask-SQLAlchemy<2.5" "WTForms<3" "markupsafe<2.1" "itsdangerous<2.1" "Jinja2<3.1" "werkzeug<1.0")

python_for() {  # the interpreter for Airflow $1; for 1.x a Python 3.8, else exit status 3 and the reason on stderr
  case $1 in
    1.*)
      local c where="\$(pyenv root)/versions/3.8*/bin/python3.8, ~/.pyenv/versions/3.8*, python3.8 on PATH"
      local found=("$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.8*/bin/python3.8 \
                   "$HOME"/.pyenv/versions/3.8*/bin/python3.8 "$(command -v python3.8 || true)")
      if [ -n "${PYTHON38:-}" ]; then found=("$PYTHON38"); where="\$PYTHON38=$PYTHON38"; fi   # set: that one only
      for c in "${found[@]}"; do
        if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; return 0; fi
      done
      echo "no Python 3.8 for Airflow $1 (looked at $where); the interpreter comes with the machine, not from a registry" >&2
      return 3 ;;
    *) echo "$PY" ;;
  esac
}

descendants() { local c; for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do echo "$c"; descendants "$c"; done; }

stop() {  # TERM the process groups we started, KILL leftovers after 15 s (workers can hang on TERM)
  local run=$BASE/run-$1 p all="" groups
  groups=$(cat "$run"/*.pid 2>/dev/null || true)
  for p in $groups; do all="$all $p $(descendants "$p")"; kill -TERM -- "-$p" 2>/dev/null || true; done
  for _ in $(seq 30); do kill -0 $all 2>/dev/null || break; sleep 0.5; done
  [ -n "${all// /}" ] && kill -KILL $all 2>/dev/null || true
  # LocalExecutor workers forked after the descendants were listed, or orphaned when their
  # parent exited, are still in the daemons' process groups: nothing of ours may outlive stop.
  for p in $groups; do kill -KILL -- "-$p" 2>/dev/null || true; done
  rm -f "$run"/*.pid
}

install() {  # cached venv; plain PyPI resolve (no constraints file; 1.x: AIRFLOW1_PINS)
  local v=$1 venv=$BASE/venv-$1 lock=$BASE/venv-$1.lock py pins=()
  py=$(python_for "$v") || exit 3
  [ "${v%%.*}" = 1 ] && pins=("${AIRFLOW1_PINS[@]}")
  mkdir -p "$BASE"
  exec 9>"$lock"; flock 9   # two test processes may install at once
  if [ ! -f "$venv/.ok" ]; then
    rm -rf "$venv"; "$py" -m venv "$venv"
    "$venv/bin/pip" install -q "apache-airflow==$v" "${pins[@]}" >&2 || { rm -rf "$venv"; echo "pip install apache-airflow==$v failed" >&2; exit 1; }
    touch "$venv/.ok"
  fi
  if [ "${AIRFLOW_DB:-sqlite}" = postgres ] && [ ! -f "$venv/.pg-ok" ]; then
    "$venv/bin/pip" install -q psycopg2-binary asyncpg >&2 || { echo "pip install psycopg2-binary asyncpg failed" >&2; exit 1; }
    touch "$venv/.pg-ok"
  fi
  exec 9>&-
}

psql_bin() { command -v psql 2>/dev/null || echo "$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql"; }

# AIRFLOW_DB=postgres: a fresh database airflow_<port> for Airflow $1 on port $2 (run folder $3), copied from a
# migrated template database; appends its connection to the env file $4.
postgres_db() {
  local V=$1 PORT=$2 RUN=$3 ENVF=$4 url=${AIRFLOW_PG_URL:-} PSQL server db tpl
  [ "${V%%.*}" -ge 2 ] || { echo "AIRFLOW_DB=postgres needs Airflow 2 or 3 (not $V)" >&2; exit 2; }
  PSQL=$(psql_bin)
  if [ -z "$url" ]; then
    "$HERE/pg-testbed.sh" install >&2
    url=$("$HERE/pg-testbed.sh" start "$RUN/pg" | tail -n 1) || { echo "cannot start PostgreSQL for Airflow" >&2; exit 1; }
  fi
  server=${url%/*} db=airflow_$PORT tpl=airflow_tpl_${V//./_}
  q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At "$server/postgres" -c "$1"; }
  exec 8>"$BASE/pg-template.lock"; flock 8   # two testbeds may migrate the template at once
  if [ "$(q "SELECT 1 FROM pg_database WHERE datname = '$tpl'")" != 1 ]; then
    q "CREATE DATABASE ${tpl}_new"
    ( export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://${server#*://}/${tpl}_new"
      "$BASE/venv-$V/bin/airflow" db migrate
      [ "${V%%.*}" -ge 3 ] || "$BASE/venv-$V/bin/airflow" users create -u admin -p admin -r Admin -f a -l b -e admin@example.com
    ) >"$RUN/migrate.log" 2>&1 || { tail -n 20 "$RUN/migrate.log" >&2; q "DROP DATABASE IF EXISTS ${tpl}_new"; echo "airflow db migrate on PostgreSQL failed" >&2; exit 1; }
    q "ALTER DATABASE ${tpl}_new RENAME TO $tpl"
  fi
  q "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  q "CREATE DATABASE $db TEMPLATE $tpl"
  exec 8>&-
  echo "export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgresql+psycopg2://${server#*://}/$db" >>"$ENVF"
}

start() {
  local V=$1 PORT=$2 MAJOR=${1%%.*}
  install "$V"
  local VENV=$BASE/venv-$V RUN=$BASE/run-$PORT
  local H=$RUN/home B=http://127.0.0.1:$PORT
  stop "$PORT"
  if curl -s -o /dev/null --max-time 2 "$B/"; then echo "port $PORT already in use" >&2; exit 1; fi
  if [ "${KEEP:-}" = 1 ] && [ -f "$H/env.sh" ] && { [ -f "$H/airflow.db" ] || grep -q SQL_ALCHEMY_CONN "$H/env.sh"; }; then   # restart: same DB, DAGs and JWT secret
    if [ -f "$RUN/pg/url" ]; then "$HERE/pg-testbed.sh" start-again "$RUN/pg" >/dev/null 2>&1 || true; fi   # its own cluster, if `stop` stopped it
    # shellcheck disable=SC1091
    . "$H/env.sh"
  else
  [ -f "$RUN/pg/url" ] && "$HERE/pg-testbed.sh" stop "$RUN/pg" >/dev/null 2>&1 || true
  rm -rf "$RUN"; mkdir -p "$H/dags"
  if [ -n "${EXTRA_DAGS_DIR:-}" ]; then cp "$EXTRA_DAGS_DIR"/*.py "$H/dags/"; fi   # e.g. examples/dags for `make run`
  if [ "$MAJOR" -le 1 ]; then   # 1.10: schedule_interval, python_operator, provide_context
    cat >"$H/dags/demo_dag.py" <<'PYEOF'
from datetime import datetime
from airflow import DAG
from airflow.operators.python_operator import PythonOperator
for dag_id, paused in (("demo_dag", False), ("paused_dag", True)):
    dag = DAG(dag_id=dag_id, schedule_interval=None, start_date=datetime(2024, 1, 1), catchup=False,
              is_paused_upon_creation=paused)
    PythonOperator(task_id="echo", python_callable=lambda **c: print("conf=", c["dag_run"].conf), provide_context=True, dag=dag)
    globals()[dag_id] = dag
PYEOF
  else
  cat >"$H/dags/demo_dag.py" <<'PYEOF'
from datetime import datetime
try:
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.operators.python import PythonOperator
for dag_id, paused in (("demo_dag", False), ("paused_dag", True)):
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2024, 1, 1), catchup=False,
             is_paused_upon_creation=paused) as dag:
        PythonOperator(task_id="echo", python_callable=lambda **c: print("conf=", c["dag_run"].conf))
    globals()[dag_id] = dag
PYEOF
  fi
  local SECRET; SECRET=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
  cat >"$H/env.sh" <<ENVEOF
export PATH=$VENV/bin:\$PATH AIRFLOW_HOME=$H AIRFLOW__CORE__DAGS_FOLDER=$H/dags AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False AIRFLOW__CORE__PARALLELISM=4
ENVEOF
  if [ "$MAJOR" -ge 3 ]; then
    cat >>"$H/env.sh" <<ENVEOF
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=$H/passwords.json
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL=$B/execution/ AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT=$PORT
export AIRFLOW__API_AUTH__JWT_SECRET=$SECRET AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=5
export AIRFLOW__API_AUTH__JWT_EXPIRATION_TIME=${JWT_EXPIRATION:-86400}
ENVEOF
    echo '{"admin": "admin"}' >"$H/passwords.json"
  elif [ "$MAJOR" -le 1 ]; then   # auth backend `default`: /api/experimental without credentials (1.10.11+ deny by default)
    cat >>"$H/env.sh" <<ENVEOF
export AIRFLOW__API__AUTH_BACKEND=airflow.api.auth.backend.default
export AIRFLOW__WEBSERVER__WEB_SERVER_HOST=127.0.0.1 AIRFLOW__WEBSERVER__WEB_SERVER_PORT=$PORT AIRFLOW__WEBSERVER__WORKERS=1
ENVEOF
  else
    cat >>"$H/env.sh" <<ENVEOF
export AIRFLOW__API__AUTH_BACKENDS=airflow.providers.fab.auth_manager.api.auth.backend.basic_auth
export AIRFLOW__API__ENABLE_EXPERIMENTAL_API=${EXPERIMENTAL_API:-False} AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL=5
export AIRFLOW__WEBSERVER__WEB_SERVER_HOST=127.0.0.1 AIRFLOW__WEBSERVER__WEB_SERVER_PORT=$PORT AIRFLOW__WEBSERVER__WORKERS=${WEB_WORKERS:-2}
ENVEOF
  fi
  [ "${AIRFLOW_DB:-sqlite}" = postgres ] && postgres_db "$V" "$PORT" "$RUN" "$H/env.sh"
  # shellcheck disable=SC1091
  . "$H/env.sh"
  local AF=$VENV/bin/airflow TPL=$BASE/cache/airflow-$V.db
  if [ -n "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}" ]; then :   # postgres_db migrated it
  elif [ "$MAJOR" -le 1 ]; then   # 1.10's initdb (~7 s) also writes the DAGs with their file paths, which the API
    "$AF" initdb >"$RUN/migrate.log" 2>&1   # reads the DAG from: a DB copied from another run folder would point elsewhere
  elif [ -f "$TPL" ]; then cp "$TPL" "$H/airflow.db"; else   # migrated DB (+admin user on 2.x), copied instead of re-migrating
    "$AF" db migrate >"$RUN/migrate.log" 2>&1
    [ "$MAJOR" -ge 3 ] || "$AF" users create -u admin -p admin -r Admin -f a -l b -e admin@example.com >>"$RUN/migrate.log" 2>&1
    mkdir -p "$BASE/cache"; cp "$H/airflow.db" "$TPL.$$"; mv "$TPL.$$" "$TPL"
  fi
  fi
  local AF=$VENV/bin/airflow
  launch() { local n=$1; shift; (exec setsid "$AF" "$@" >"$RUN/$n.log" 2>&1 </dev/null) & echo $! >"$RUN/$n.pid"; }
  # The scheduler exits on a "database is locked" at its start (SQLite, API writes meanwhile): start it again,
  # in the same process group, so `stop` ends the loop with it.
  launch_again() {
    local n=$1; shift
    (exec setsid bash -c 'while :; do "$@"; sleep 1; done' loop "$AF" "$@" >>"$RUN/$n.log" 2>&1 </dev/null) & echo $! >"$RUN/$n.pid"
  }
  ready() {
    if [ "$MAJOR" -ge 3 ]; then
      local T
      T=$(curl -sf -X POST "$B/auth/token" -H 'Content-Type: application/json' -d '{"username":"admin","password":"admin"}' |
          sed 's/.*"access_token":"\([^"]*\)".*/\1/') &&
        curl -sf -o /dev/null -H "Authorization: Bearer $T" "$B/api/v2/dags/demo_dag" &&
        curl -sf -o /dev/null -H "Authorization: Bearer $T" "$B/api/v2/dags/paused_dag"
    elif [ "$MAJOR" -le 1 ]; then
      curl -sf -o /dev/null "$B/api/experimental/dags/demo_dag/paused" && curl -sf -o /dev/null "$B/api/experimental/dags/paused_dag/paused"
    else
      curl -sf -o /dev/null -u admin:admin "$B/api/v1/dags/demo_dag" && curl -sf -o /dev/null -u admin:admin "$B/api/v1/dags/paused_dag"
    fi
  }
  if [ "$MAJOR" -ge 3 ]; then
    launch api-server api-server -H 127.0.0.1 -p "$PORT" -w 1; launch dag-processor dag-processor
  elif [ "$MAJOR" -le 1 ]; then   # the webserver execs gunicorn from the venv's bin (on PATH via env.sh)
    launch webserver webserver -hn 127.0.0.1 -p "$PORT" -w 1
  else
    launch webserver webserver -H 127.0.0.1 -p "$PORT"; launch_again scheduler scheduler -s
  fi
  local i
  for i in $(seq 900); do
    ready && break
    if [ "$i" = 900 ]; then tail -n 20 "$RUN"/*.log >&2; stop "$PORT"; echo "Airflow $V not ready on $B" >&2; exit 1; fi
    sleep 0.2
  done
  [ "$MAJOR" -ge 3 ] && launch_again scheduler scheduler -s   # after readiness: less CPU contention; queued runs wait for it
  echo "READY $B"
}

case "${1:-}" in
  start) start "${2:?VERSION}" "${3:?PORT}" ;;
  stop) stop "${2:?PORT}"
        if [ -f "$BASE/run-$2/pg/url" ]; then "$HERE/pg-testbed.sh" stop "$BASE/run-$2/pg" >/dev/null 2>&1 || true; fi ;;
  restart) KEEP=1 start "${2:?VERSION}" "${3:?PORT}" ;;
  install) install "${2:?VERSION}" ;;
  python) python_for "${2:?VERSION}" ;;
  *) echo "usage: $0 start|restart VERSION PORT | stop PORT | install VERSION | python VERSION" >&2; exit 2 ;;
esac
