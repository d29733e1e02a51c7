#!/usr/bin/env bash
# Real-browser test: headless Chromium (Debian's, driven by Playwright from the repo's venv)
# uses Swagger UI on a real `loket` with a fresh SQLite database: logs in with the oauth2
# password flow as a bootstrapped API account and executes GET /api/v1/me.
# Builds nothing: expects ${CARGO_TARGET_DIR:-target}/debug/loket (`make browser` builds it).
# Screenshot: $TMPDIR/swagger-ui.png (or LOKET_TEST_BROWSER_SCREENSHOT; *-failure.png on failure).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/loket"
[ -x "$BIN" ] || { echo "tests/browser: $BIN not found; run 'make build' first" >&2; exit 1; }
LOKET_TEST_CHROMIUM="$(scripts/ensure-browser.sh)"
export LOKET_TEST_CHROMIUM
VENV="$(scripts/ensure-python.sh)"
WORK="$(mktemp -d)"
PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export LOKET_DATABASE_URL="sqlite://$WORK/loket.db" LOKET_ADDR="127.0.0.1:$PORT" LOKET_LOG="warn"
"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

server_log() {
    echo "--- server log (last 50 lines) ---" >&2
    tail -50 "$WORK/server.log" >&2
}
up=0
for _ in $(seq 1 150); do
    if curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then up=1; break; fi
    kill -0 $SERVER 2>/dev/null || break
    sleep 0.1
done
if [ "$up" -ne 1 ]; then
    echo "tests/browser: loket did not come up on 127.0.0.1:$PORT" >&2
    server_log
    exit 1
fi

if ! "$BIN" admin bootstrap --tenant "Browser tests" --json >"$WORK/bootstrap.json" 2>"$WORK/bootstrap.err"; then
    echo "tests/browser: 'loket admin bootstrap' failed:" >&2
    cat "$WORK/bootstrap.err" >&2
    server_log
    exit 1
fi

status=0
"$VENV/bin/python" tests/browser/swagger_ui.py "http://127.0.0.1:$PORT" "$WORK/bootstrap.json" || status=$?
if [ "$status" -ne 0 ]; then
    server_log
fi
exit "$status"
