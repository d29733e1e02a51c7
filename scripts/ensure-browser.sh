#!/usr/bin/env bash
# Make sure a headless-capable Chromium is installed (Debian's `chromium` package) for the
# real-browser tests. Browsers can't be downloaded by `playwright install` here, so the tests
# drive this system Chromium through Playwright's `executable_path`.
#
# Prints ONE line on stdout: the chromium path; messages go to stderr. Idempotent: apt only
# runs when the binary is missing.
#
# Env:
#   LOKET_TEST_CHROMIUM   path of the chromium binary (default: /usr/bin/chromium)
set -euo pipefail

log() { printf '[ensure-browser] %s\n' "$*" >&2; }

CHROMIUM="${LOKET_TEST_CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$CHROMIUM" ]; then
  if [ "$CHROMIUM" != /usr/bin/chromium ]; then
    log "ERROR: LOKET_TEST_CHROMIUM=$CHROMIUM is not an executable"
    exit 1
  fi
  command -v apt-get >/dev/null 2>&1 || { log "ERROR: $CHROMIUM missing and no apt-get to install it"; exit 1; }
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { log "ERROR: need root (or sudo) to install chromium"; exit 1; }
    SUDO=(sudo)
  fi
  # Serialise concurrent installs (apt holds its own lock, but fail fast is worse than waiting).
  exec 9>>"${TMPDIR:-/tmp}/loket-ensure-browser.lock"
  flock -w 900 9 || { log "ERROR: timed out waiting for the install lock"; exit 1; }
  if [ ! -x "$CHROMIUM" ]; then
    log "installing Debian's chromium (first run only; takes a minute) ..."
    aptlog="$(mktemp)"
    if ! { "${SUDO[@]}" apt-get update -qq \
           && DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq chromium; } \
         >"$aptlog" 2>&1 </dev/null; then
      log "ERROR: apt-get install chromium failed:"
      tail -30 "$aptlog" >&2
      rm -f "$aptlog"
      exit 1
    fi
    rm -f "$aptlog"
    [ -x "$CHROMIUM" ] || { log "ERROR: chromium installed but $CHROMIUM is missing"; exit 1; }
    log "chromium ready: $("$CHROMIUM" --version 2>/dev/null || echo '?')"
  fi
fi
printf '%s\n' "$CHROMIUM"
