#!/usr/bin/env bash
# Contract test: schemathesis (from PyPI, in the repo's venv) runs every check against the live
# /openapi.json of a real `loket` on a fresh SQLite database, authenticated as a bootstrapped
# API account. Fails on any 5xx, schema violation or response not matching the spec.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
VENV="$(scripts/ensure-python.sh)"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/loket"
WORK="$(mktemp -d)"
PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export LOKET_DATABASE_URL="sqlite://$WORK/loket.db" LOKET_ADDR="127.0.0.1:$PORT" LOKET_LOG="warn" LOKET_SMTP_TIMEOUT=3
"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
    sleep 0.1
done

AUTH=()
if "$BIN" admin --help 2>/dev/null | grep -q bootstrap; then
    TOKEN="$("$VENV/bin/python" tests/contract/get_token.py "$BIN" "http://127.0.0.1:$PORT")"
    AUTH=(-H "Authorization: Bearer $TOKEN")
fi

# The examples in examples/ run against the same server, each with its own tenant (TOTP codes are single use).
run_example() {
    local creds
    creds="$("$BIN" admin bootstrap --tenant "$1" --json)"
    LOKET_URL="http://127.0.0.1:$PORT" \
    LOKET_USERNAME="$("$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["username"])' <<<"$creds")" \
    LOKET_PASSWORD="$("$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["password"])' <<<"$creds")" \
    LOKET_TOTP_SECRET="$("$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["totp_secret"])' <<<"$creds")" \
    "${@:2}"
}
if [ ${#AUTH[@]} -gt 0 ]; then
    echo "--- examples/curl_login.sh"
    run_example "Curl example" bash examples/curl_login.sh
    echo "--- examples/python_client.py"
    run_example "Python example" bash -c '"$0" examples/python_client.py --url "$LOKET_URL" --username "$LOKET_USERNAME" --password "$LOKET_PASSWORD" --totp-secret "$LOKET_TOTP_SECRET"' "$VENV/bin/python"
    echo "examples ran"
fi

status=0
PYTHONPATH="$ROOT/tests/contract" SCHEMATHESIS_HOOKS=hooks "$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/openapi.json" \
    --checks all \
    --workers 1 \
    --max-examples "${LOKET_SCHEMATHESIS_EXAMPLES:-30}" \
    --max-failures 20 \
    --suppress-health-check all \
    --seed 42 \
    "${AUTH[@]}" || status=$?
if [ "$status" -ne 0 ]; then
    echo "--- server log (last 50 lines) ---" >&2
    tail -50 "$WORK/server.log" >&2
fi
exit "$status"
