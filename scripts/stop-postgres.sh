#!/usr/bin/env bash
# Stop the throw-away PostgreSQL cluster started by scripts/ensure-postgres.sh
# (data dir ${LOKET_PG_DIR:-/tmp/loket-pg}). Quiet; exits 0 if it was not running.
# The data dir is kept, so the next ensure-postgres.sh just starts it again.
set -euo pipefail

PG_DIR="${LOKET_PG_DIR:-/tmp/loket-pg}"
PG_DIR="${PG_DIR%/}"

[ -f "$PG_DIR/PG_VERSION" ] || exit 0

BIN="${LOKET_PG_BIN:-}"
if [ -z "$BIN" ]; then
  v="$(tr -d '[:space:]' 2>/dev/null <"$PG_DIR/PG_VERSION" || true)"
  if [ -n "$v" ] && [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ]; then
    BIN="/usr/lib/postgresql/$v/bin"
  else
    BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
    [ -n "$BIN" ] || BIN="$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")"
  fi
fi
[ -x "$BIN/pg_ctl" ] || exit 0

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

exec 9>>"$PG_DIR.lock"
flock -w 300 9 || { echo "[stop-postgres] timed out waiting for $PG_DIR.lock" >&2; exit 1; }

if as_pg "$BIN/pg_ctl" -D "$PG_DIR" status >/dev/null 2>&1; then
  if ! as_pg "$BIN/pg_ctl" -D "$PG_DIR" stop -m fast -w -t 60 >/dev/null 2>&1; then
    as_pg "$BIN/pg_ctl" -D "$PG_DIR" stop -m immediate -w -t 30 >/dev/null 2>&1 || {
      echo "[stop-postgres] could not stop the cluster in $PG_DIR" >&2
      exit 1
    }
  fi
fi
exit 0
