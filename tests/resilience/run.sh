#!/usr/bin/env bash
# `make resilience`: the real `loket serve` under crashes, a database outage and hostile
# clients. Each scenario is a Python script in this directory (see its docstring) that starts
# its own server on 127.0.0.1 and fails with a precise message; each must finish well within
# two minutes (its own limit is 110 s, `timeout` here 120 s).
#
#   crash_writes.py   kill -9 during a burst of writes and webhook deliveries, on SQLite and
#                     on PostgreSQL (a fresh database in the shared scripts/ensure-postgres.sh
#                     cluster); no acknowledged write and no event is lost
#   db_outage.py      PostgreSQL (a private cluster in /tmp/loket-pg-resilience) stops and
#                     starts again: 503 problem+json at once, recovery without a restart
#   slow_clients.py   slow-loris heads and bodies, oversized heads, bodies and uploads
#
# Needs the loket binary (`cargo build --bin loket`; LOKET_BIN overrides its path), the Python
# venv (scripts/ensure-python.sh) and PostgreSQL (installed by scripts/ensure-postgres.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
VENV="$(scripts/ensure-python.sh)"
PY="$VENV/bin/python"
export LOKET_BIN="${LOKET_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/loket}"
[ -x "$LOKET_BIN" ] || { echo "resilience: no $LOKET_BIN; run cargo build --bin loket" >&2; exit 1; }

PGURL="$(scripts/ensure-postgres.sh)"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
[ -n "$PG_BIN" ] && export PATH="$PG_BIN:$PATH"
DB="loket_resilience_$$"
psql "$PGURL" -Xq -c "create database $DB"
trap 'psql "$PGURL" -Xq -c "drop database if exists $DB with (force)" >/dev/null 2>&1 || true' EXIT

started=$SECONDS
cd tests/resilience
scenario() { echo "resilience: $*"; timeout 120 "$PY" "$@"; }
scenario crash_writes.py sqlite
scenario crash_writes.py "${PGURL%/*}/$DB"
scenario db_outage.py
scenario slow_clients.py
echo "resilience: all scenarios passed in $((SECONDS - started)) s"
