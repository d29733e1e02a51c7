#!/usr/bin/env bash
# Installs the load generator of `make bench` (wrk, from Debian's packages) when missing.
set -euo pipefail
if command -v wrk >/dev/null 2>&1; then
    exit 0
fi
echo "[ensure-bench-tools] installing wrk" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q wrk >&2 || { $SUDO apt-get update -q >&2 && $SUDO apt-get install -y -q wrk >&2; }
command -v wrk >/dev/null
