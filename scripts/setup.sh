#!/usr/bin/env bash
# Installs what dagbridge needs on a fresh Debian bookworm machine with Swift: the native
# libraries it links (libcurl, librdkafka) and pkg-config. Idempotent: does nothing when all is present.
set -euo pipefail
packages=(pkg-config libcurl4-openssl-dev librdkafka-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
