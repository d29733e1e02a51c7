#!/usr/bin/env bash
# Make sure the system packages the build and test tooling need are present:
#   - libpq development files (diesel's `postgres` feature links -lpq)
#   - a python3 that can create venvs (Debian's python3 needs python3-venv)
# Quiet when nothing needs doing; installs via apt-get (root, or sudo -n) otherwise.
set -euo pipefail

log() { printf '[ensure-build-deps] %s\n' "$*" >&2; }

SUDO=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); fi

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || { log "ERROR: need to install $* but apt-get is not available"; exit 1; }
  if [ "$(id -u)" -ne 0 ] && [ "${#SUDO[@]}" -eq 0 ]; then
    log "ERROR: need to install $* but not root and no sudo"; exit 1
  fi
  if [ "$APT_UPDATED" -eq 0 ]; then
    "${SUDO[@]}" apt-get update -qq >&2
    APT_UPDATED=1
  fi
  log "installing: $*"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 </dev/null
}

have_libpq() {
  local f
  for f in /usr/lib/x86_64-linux-gnu/libpq.so /usr/lib/*-linux-gnu*/libpq.so /usr/lib/libpq.so \
           /usr/lib64/libpq.so /usr/local/lib/libpq.so /usr/local/pgsql/lib/libpq.so; do
    [ -e "$f" ] && return 0
  done
  if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libpq 2>/dev/null; then return 0; fi
  # Only the unversioned libpq.so is usable by the linker (libpq.so.5 alone is the runtime package).
  if ldconfig -p 2>/dev/null | grep -qE '^[[:space:]]*libpq\.so[[:space:]]'; then return 0; fi
  return 1
}

have_venv() {
  # `python3 -m venv --help` succeeds even on Debian without python3-venv;
  # what is missing there is ensurepip, which `venv` needs to bootstrap pip.
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1
}

if ! have_libpq; then
  apt_install libpq-dev
  have_libpq || { log "ERROR: libpq-dev installed but libpq.so still not found"; exit 1; }
fi

if ! command -v python3 >/dev/null 2>&1; then
  apt_install python3 python3-venv python3-pip
fi
if ! have_venv; then
  pyver="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  pkgs=(python3-venv)
  if apt-cache show "python${pyver}-venv" >/dev/null 2>&1; then pkgs+=("python${pyver}-venv"); fi
  apt_install "${pkgs[@]}"
  have_venv || { log "ERROR: python3 still cannot create venvs (python3 is $(command -v python3))"; exit 1; }
fi
exit 0
