#!/usr/bin/env bash
# Create/update the Python venv used by Loket's black-box tests.
#
# Prints ONE line on stdout: the venv path (e.g. /work/main/.venv); messages go to stderr.
# Use it as:  VENV="$(scripts/ensure-python.sh)"; "$VENV/bin/python" -m pytest ...
#
# Env:
#   LOKET_VENV          venv location (default: <repo root>/.venv)
#   LOKET_REQUIREMENTS  requirements file (default: <repo root>/tests/requirements.txt)
#   PYTHON              interpreter to build the venv from (default: python3)
#
# Idempotent and fast: the sha256 of the requirements file is kept in
# "$VENV/.loket-requirements.sha256"; pip only runs when it differs.
set -euo pipefail

log() { printf '[ensure-python] %s\n' "$*" >&2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LOKET_VENV:-$ROOT/.venv}"
VENV="${VENV%/}"
REQ="${LOKET_REQUIREMENTS:-$ROOT/tests/requirements.txt}"
PY="${PYTHON:-python3}"
STAMP="$VENV/.loket-requirements.sha256"

[ -f "$REQ" ] || { log "ERROR: requirements file $REQ not found"; exit 1; }

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{print $1}'
  else
    "$PY" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
  fi
}

want="$(sha256_of "$REQ")"

# Fast path, no lock needed.
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ] \
   && "$VENV/bin/python" -c '' >/dev/null 2>&1; then
  printf '%s\n' "$VENV"
  exit 0
fi

# Serialise concurrent runs on the same venv (lock file outside the repo).
lock="${TMPDIR:-/tmp}/loket-venv-$(printf '%s' "$VENV" | cksum | awk '{print $1}').lock"
exec 9>>"$lock"
flock -w 900 9 || { log "ERROR: timed out waiting for $lock"; exit 1; }

# Re-check after acquiring the lock (another run may have done the work).
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ] \
   && "$VENV/bin/python" -c '' >/dev/null 2>&1; then
  printf '%s\n' "$VENV"
  exit 0
fi

# (Re)create the venv if missing or broken (e.g. the base interpreter moved).
if ! { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; }; then
  if [ -e "$VENV" ]; then
    log "venv at $VENV is broken; recreating"
    rm -rf "$VENV"
  fi
  log "creating venv at $VENV"
  "$PY" -m venv "$VENV" >&2 || {
    log "ERROR: '$PY -m venv' failed; run scripts/ensure-build-deps.sh (Debian needs python3-venv)"
    exit 1
  }
fi

rm -f "$STAMP"
log "installing $(basename "$REQ") into $VENV (this can take a minute) ..."
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" >&2 </dev/null
printf '%s\n' "$want" >"$STAMP"
log "venv ready"
printf '%s\n' "$VENV"
