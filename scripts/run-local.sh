#!/usr/bin/env bash
# `make run`: build dagbridge and serve the example rules against a real Airflow 3 on 127.0.0.1
# (installed from PyPI into a cache on first use), or against yours when AIRFLOW_URL is set
# (with AIRFLOW_USER / AIRFLOW_PASSWORD for an Airflow 3 API). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/debug/dagbridge
AIRFLOW_PORT=${AIRFLOW_PORT:-28080}
started_airflow=""
if [ -z "${AIRFLOW_URL:-}" ]; then
    echo "== starting a local Apache Airflow 3.3.2 on 127.0.0.1:$AIRFLOW_PORT (first run installs it: a few minutes)"
    EXTRA_DAGS_DIR=examples/dags scripts/airflow-testbed.sh start 3.3.2 "$AIRFLOW_PORT" | tail -n 1
    export AIRFLOW_URL=http://127.0.0.1:$AIRFLOW_PORT AIRFLOW_USER=admin AIRFLOW_PASSWORD=admin
    started_airflow=1
fi
export GITHUB_WEBHOOK_SECRET=${GITHUB_WEBHOOK_SECRET:-local-dev-secret}
export EVENTS_TOKEN=${EVENTS_TOKEN:-local-dev-token}
export BILLING_WEBHOOK_SECRET=${BILLING_WEBHOOK_SECRET:-whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}
export DAGBRIDGE_ADMIN_TOKEN=${DAGBRIDGE_ADMIN_TOKEN:-local-dev-admin-token}
mkdir -p var
cleanup() { [ -n "$started_airflow" ] && scripts/airflow-testbed.sh stop "$AIRFLOW_PORT" >/dev/null 2>&1 || true; }
trap cleanup EXIT
body=$(tr -d '\n' < examples/events/github-push.json)
sig="sha256=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$GITHUB_WEBHOOK_SECRET" | awk '{print $NF}')"
cat <<MSG

== dagbridge serves on http://127.0.0.1:8088 ; in another terminal, send a signed GitHub push:

curl -i http://127.0.0.1:8088/hooks/github -H 'Content-Type: application/json' \\
  -H 'X-GitHub-Event: push' -H "X-GitHub-Delivery: \$(uuidgen 2>/dev/null || date +%s%N)" \\
  -H '$(printf 'X-Hub-Signature-256: %s' "$sig")' --data-binary @<(tr -d '\\n' < examples/events/github-push.json)

   then see the run in Airflow: $AIRFLOW_URL/dags/ci_build (user $AIRFLOW_USER), or
   curl -s -H 'Authorization: Bearer $DAGBRIDGE_ADMIN_TOKEN' http://127.0.0.1:8088/admin/targets

MSG
"$BIN" serve --config examples/local.yaml
