#!/usr/bin/env bash
# Validates Kubernetes manifests offline against the Kubernetes OpenAPI schemas that the PyPI package
# kubernetes-validate bundles (strict: an unknown field is an error), in a cached venv.
#
#   scripts/k8s-validate.sh install          build the cached venv (kubernetes-validate) once
#   scripts/k8s-validate.sh [FILE...]        validate FILEs (default: deploy/kubernetes/*.yaml); exit 0 only
#                                            when every resource of every file passed
#
# A resource whose kind or apiVersion has no schema (a typo such as apps/v1beta9) is only a warning to
# kubernetes-validate; here it fails too, as does a file that is not YAML.
# Cache: ${DAGBRIDGE_CACHE:-/tmp/dagbridge-testbed}/k8s-venv. Kubernetes version: $K8S_VERSION (default below,
# the newest the pinned package bundles).
set -euo pipefail
VENV=${DAGBRIDGE_CACHE:-/tmp/dagbridge-testbed}/k8s-venv
PACKAGE="kubernetes-validate==1.37.0"
K8S_VERSION=${K8S_VERSION:-1.37.0}
PY=${PYTHON:-python3}

die() { echo "k8s-validate: $*" >&2; exit 2; }

install() {
  mkdir -p "$(dirname "$VENV")"
  exec 9>"$VENV.lock"; flock 9     # parallel test processes may install at once
  if [ ! -f "$VENV/.ok" ]; then
    rm -rf "$VENV"; "$PY" -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q "$PACKAGE" >&2 || { rm -rf "$VENV"; die "pip install $PACKAGE failed"; }
    touch "$VENV/.ok"
  fi
  exec 9>&-
}

if [ "${1:-}" = install ]; then install; exit 0; fi
install
if (($# == 0)); then
  shopt -s nullglob
  set -- "$(cd "$(dirname "$0")/.." && pwd)"/deploy/kubernetes/*.yaml
  (($#)) || die "no manifests in deploy/kubernetes"
fi
out=$("$VENV/bin/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "$@" 2>&1) && rc=0 || rc=$?
[ -n "$out" ] && echo "$out"
if ((rc != 0)) || grep -q '^WARN' <<<"$out"; then
  echo "k8s-validate: FAILED against Kubernetes $K8S_VERSION (strict): $*" >&2
  exit 1
fi
echo "k8s-validate: ok against Kubernetes $K8S_VERSION (strict): $*"
