#!/usr/bin/env bash
# Make sure a throw-away PostgreSQL server is reachable for Loket's tests.
#
# Prints exactly ONE line on stdout: the admin URL, e.g.
#   postgres://loket@127.0.0.1:55432/postgres
# Everything else goes to stderr.
#
# Order of preference:
#   1. $LOKET_TEST_POSTGRES_URL, if `psql "$URL" -c 'select 1'` works.
#   2. The project's own cluster in ${LOKET_PG_DIR:-/tmp/loket-pg}, if already running.
#   3. Otherwise (install PostgreSQL via apt if needed,) initdb + start that cluster.
#
# Env:
#   LOKET_TEST_POSTGRES_URL  external server to use instead (optional)
#   LOKET_PG_DIR             data directory of the local cluster (default /tmp/loket-pg)
#   LOKET_PG_BIN             PostgreSQL bin dir to use (default: newest /usr/lib/postgresql/*/bin)
#   LOKET_PG_PORT            preferred port (default 55432; a free one is picked if busy)
#
# Idempotent; serialised with flock on "$LOKET_PG_DIR.lock". Safe to run as root
# (server runs as the `postgres` user via runuser) or as an ordinary user.
set -euo pipefail

log() { printf '[ensure-postgres] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

PG_DIR="${LOKET_PG_DIR:-/tmp/loket-pg}"
PG_DIR="${PG_DIR%/}"
PG_USER=loket
PREFERRED_PORT="${LOKET_PG_PORT:-55432}"
PORT_FILE="$PG_DIR/loket.port"
export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-5}"

url_for() { printf 'postgres://%s@127.0.0.1:%s/postgres' "$PG_USER" "$1"; }

IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

# ---------------------------------------------------------------- helpers
find_bin() {
  local b=""
  if [ -n "${LOKET_PG_BIN:-}" ]; then
    [ -x "$LOKET_PG_BIN/initdb" ] && { printf '%s' "$LOKET_PG_BIN"; return 0; }
    die "LOKET_PG_BIN=$LOKET_PG_BIN has no initdb"
  fi
  # Prefer the version the existing data dir was created with.
  if [ -f "$PG_DIR/PG_VERSION" ]; then
    local v
    v="$(tr -d '[:space:]' 2>/dev/null <"$PG_DIR/PG_VERSION" || true)"
    if [ -n "$v" ] && [ -x "/usr/lib/postgresql/$v/bin/initdb" ]; then
      printf '%s' "/usr/lib/postgresql/$v/bin"; return 0
    fi
  fi
  b="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [ -n "$b" ] && [ -x "$b/initdb" ]; then printf '%s' "$b"; return 0; fi
  # Non-Debian layouts (e.g. initdb on PATH).
  b="$(command -v initdb 2>/dev/null || true)"
  if [ -n "$b" ]; then dirname "$b"; return 0; fi
  return 1
}

find_psql() {
  if [ -n "${BIN:-}" ] && [ -x "$BIN/psql" ]; then printf '%s' "$BIN/psql"; return 0; fi
  command -v psql 2>/dev/null
}

# psql_ok URL -> 0 if `select 1` works
psql_ok() {
  local psql
  psql="$(find_psql)" || return 1
  "$psql" "$1" -X -Atq -c 'select 1' </dev/null >/dev/null 2>&1
}

as_pg() {
  # Run a command as the cluster owner, from a directory it can read.
  if [ "$IS_ROOT" -eq 1 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

install_postgres() {
  log "PostgreSQL not found; installing via apt-get (postgresql libpq-dev) ..."
  local SUDO=()
  if [ "$IS_ROOT" -ne 1 ]; then
    command -v sudo >/dev/null 2>&1 || die "not root and no sudo: install postgresql yourself"
    SUDO=(sudo -n)
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not available: install PostgreSQL yourself or set LOKET_PG_BIN"
  "${SUDO[@]}" apt-get update -qq >&2
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql libpq-dev >&2 </dev/null
}

PYTHON_BIN="$(command -v python3 2>/dev/null || true)"

port_free() {
  if [ -n "$PYTHON_BIN" ]; then
    "$PYTHON_BIN" - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
# Like the postmaster itself: lingering TIME_WAIT connections must not make a port look busy.
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
  else
    # No python: a port nobody accepts connections on counts as free.
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 1; fi
    return 0
  fi
}

pick_port() {
  local p
  for p in "$@"; do
    [ -n "$p" ] && port_free "$p" && { printf '%s' "$p"; return 0; }
  done
  if [ -n "$PYTHON_BIN" ]; then
    "$PYTHON_BIN" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
  else
    for p in $(seq 55433 55632); do
      port_free "$p" && { printf '%s' "$p"; return 0; }
    done
    die "no free TCP port found"
  fi
}

server_running() {
  # pg_ctl status exits 0 when a postmaster owns the data dir.
  as_pg "$BIN/pg_ctl" -D "$PG_DIR" status >/dev/null 2>&1
}

our_cluster_url() {
  # Prints the URL of our cluster if it is running and reachable.
  [ -f "$PORT_FILE" ] || return 1
  local port url
  port="$(tr -dc '0-9' 2>/dev/null <"$PORT_FILE" || true)"
  [ -n "$port" ] || return 1
  url="$(url_for "$port")"
  psql_ok "$url" || return 1
  # Make sure whatever listens on that port really is our data dir.
  local dd psql
  psql="$(find_psql)" || return 1
  dd="$("$psql" "$url" -X -Atq -c 'show data_directory' </dev/null 2>/dev/null || true)"
  if [ -n "$dd" ] && [ "$(readlink -f "$dd")" != "$(readlink -f "$PG_DIR")" ]; then
    log "port $port is served by another cluster ($dd); ignoring"
    return 1
  fi
  printf '%s' "$url"
}

clear_stale_pid() {
  local pidfile="$PG_DIR/postmaster.pid" pid exe
  [ -f "$pidfile" ] || return 0
  pid="$(head -1 "$pidfile" 2>/dev/null | tr -dc '0-9' || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
    case "$exe" in
      */postgres|*/postmaster) return 0 ;;   # a real postmaster, leave it
    esac
  fi
  log "removing stale $pidfile (pid ${pid:-?} not a running postmaster)"
  rm -f "$pidfile" "$PG_DIR"/.s.PGSQL.*.lock "$PG_DIR"/.s.PGSQL.* 2>/dev/null || true
}

# ---------------------------------------------------------------- 1. external URL
if [ -n "${LOKET_TEST_POSTGRES_URL:-}" ]; then
  if psql_ok "$LOKET_TEST_POSTGRES_URL"; then
    printf '%s\n' "$LOKET_TEST_POSTGRES_URL"
    exit 0
  fi
  log "LOKET_TEST_POSTGRES_URL is set but not reachable (or psql missing); falling back to local cluster"
fi

# ---------------------------------------------------------------- lock
mkdir -p "$(dirname "$PG_DIR")"
exec 9>>"$PG_DIR.lock"
if ! flock -w 300 9; then die "timed out waiting for lock $PG_DIR.lock"; fi

BIN="$(find_bin || true)"

# ---------------------------------------------------------------- 2. already running?
if [ -n "$BIN" ] || command -v psql >/dev/null 2>&1; then
  if url="$(our_cluster_url)"; then
    printf '%s\n' "$url"
    exit 0
  fi
fi

# ---------------------------------------------------------------- 3. install / init / start
if [ -z "$BIN" ]; then
  install_postgres
  BIN="$(find_bin)" || die "PostgreSQL installed but no initdb under /usr/lib/postgresql/*/bin"
fi
log "using PostgreSQL binaries in $BIN"

if [ "$IS_ROOT" -eq 1 ] && ! id postgres >/dev/null 2>&1; then
  die "running as root but there is no 'postgres' user to run the server as"
fi

mkdir -p "$PG_DIR"
if [ "$IS_ROOT" -eq 1 ]; then chown postgres:postgres "$PG_DIR"; fi
chmod 700 "$PG_DIR"

# Data dir from another major version (throw-away): wipe it.
if [ -f "$PG_DIR/PG_VERSION" ]; then
  have="$(tr -d '[:space:]' <"$PG_DIR/PG_VERSION")"
  want="$("$BIN/postgres" --version 2>/dev/null | grep -oE '[0-9]+' | head -1 || true)"
  if [ -n "$want" ] && [ "$have" != "$want" ]; then
    log "data dir $PG_DIR is from PostgreSQL $have but binaries are $want; re-initialising"
    as_pg "$BIN/pg_ctl" -D "$PG_DIR" stop -m immediate >/dev/null 2>&1 || true
    find "$PG_DIR" -mindepth 1 -delete
  fi
fi

if [ ! -f "$PG_DIR/PG_VERSION" ]; then
  # Only our own leftovers may be in the way of initdb (it needs an empty dir).
  leftovers="$(find "$PG_DIR" -mindepth 1 -maxdepth 1 ! -name loket.port ! -name log ! -name '.s.PGSQL.*' -print -quit)"
  [ -z "$leftovers" ] || die "$PG_DIR is not empty and not a PostgreSQL data dir (found $leftovers); remove it or set LOKET_PG_DIR"
  find "$PG_DIR" -mindepth 1 -delete
  log "initialising cluster in $PG_DIR"
  as_pg "$BIN/initdb" -D "$PG_DIR" -A trust -U "$PG_USER" --no-sync -E UTF8 --locale=C >/dev/null 2>"$PG_DIR.initdb.log" \
    || { cat "$PG_DIR.initdb.log" >&2; die "initdb failed"; }
  rm -f "$PG_DIR.initdb.log"
fi

# Running but not reachable on the recorded port (e.g. port file lost): restart it.
if server_running; then
  log "cluster in $PG_DIR is running but not reachable on the recorded port; restarting"
  as_pg "$BIN/pg_ctl" -D "$PG_DIR" stop -m fast -w >/dev/null 2>&1 \
    || as_pg "$BIN/pg_ctl" -D "$PG_DIR" stop -m immediate -w >/dev/null 2>&1 || true
fi
clear_stale_pid

old_port="$(tr -dc '0-9' 2>/dev/null <"$PORT_FILE" || true)"
started=0
for attempt in 1 2 3; do
  port="$(pick_port "$PREFERRED_PORT" "$old_port")"
  log "starting cluster on 127.0.0.1:$port (attempt $attempt)"
  # 9>&- : the postmaster must not inherit (and keep holding) our flock fd.
  if as_pg "$BIN/pg_ctl" -D "$PG_DIR" -l "$PG_DIR/log" \
       -o "-h 127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
       -w -t 60 start </dev/null >&2 9>&-; then
    started=1
    break
  fi
  log "pg_ctl start failed; last log lines:"
  tail -n 5 "$PG_DIR/log" >&2 2>/dev/null || true
  clear_stale_pid
  PREFERRED_PORT=""; old_port=""
done
[ "$started" -eq 1 ] || die "could not start PostgreSQL (see $PG_DIR/log)"

printf '%s\n' "$port" >"$PORT_FILE"
if [ "$IS_ROOT" -eq 1 ]; then chown postgres:postgres "$PORT_FILE" 2>/dev/null || true; fi

for _ in $(seq 1 60); do
  "$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$PG_USER" -d postgres && break
  sleep 0.5
done
"$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$PG_USER" -d postgres || die "server did not become ready (see $PG_DIR/log)"

url="$(url_for "$port")"
psql_ok "$url" || die "server is up but '$url' does not accept connections (see $PG_DIR/log)"
log "ready: $url"
printf '%s\n' "$url"
