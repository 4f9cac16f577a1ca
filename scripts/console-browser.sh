#!/usr/bin/env bash
# The operations console's browser test kit: Debian's headless Chromium and a cached Python venv with
# Playwright (driving that Chromium through executable_path: Playwright's own browser download cannot
# work here) and axe-playwright-python (bundles axe-core).
#
#   scripts/console-browser.sh install        apt-get install chromium (once) and build the cached venv
#   scripts/console-browser.sh run ARGS...    install if needed, then Tests/Browser/console_test.py ARGS
#   scripts/console-browser.sh python         print the venv's python (after install)
#
# Cache: ${DAGBRIDGE_CACHE:-/tmp/dagbridge-testbed}/console-venv. Exit 3 when something cannot be installed.
set -euo pipefail
VENV=${DAGBRIDGE_CACHE:-/tmp/dagbridge-testbed}/console-venv
PACKAGES=("playwright==1.65.2" "axe-playwright-python==0.1.8")
PY=${PYTHON:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)

die() { echo "console-browser: $*" >&2; exit 3; }

chromium_path() {
  for c in /usr/bin/chromium /usr/bin/chromium-browser; do [ -x "$c" ] && { echo "$c"; return 0; }; done
  return 1
}

install() {
  if ! chromium_path >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    echo "console-browser: installing chromium (apt)" >&2
    $SUDO apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null \
      || die "apt-get install chromium failed"
  fi
  mkdir -p "$(dirname "$VENV")"
  exec 9>"$VENV.lock"; flock 9     # parallel test processes may install at once
  if [ ! -f "$VENV/.ok" ]; then
    rm -rf "$VENV"; "$PY" -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q "${PACKAGES[@]}" >&2 || { rm -rf "$VENV"; die "pip install ${PACKAGES[*]} failed"; }
    touch "$VENV/.ok"
  fi
  exec 9>&-
}

case "${1:-}" in
  install) install; echo "console-browser: chromium $(chromium_path), venv $VENV" ;;
  python) echo "$VENV/bin/python" ;;
  run) shift; install
       CONSOLE_CHROMIUM=$(chromium_path) exec "$VENV/bin/python" "$HERE/../Tests/Browser/console_test.py" "$@" ;;
  *) echo "usage: $0 install | run ARGS... | python" >&2; exit 2 ;;
esac
