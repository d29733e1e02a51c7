#!/usr/bin/env bash
# Crash test for webhook delivery (R-RETRY, "a restart loses no pending delivery"): a real
# `loket` with failing deliveries pending is killed with SIGKILL, restarted on the same
# database, and must then deliver every event to a real HTTP receiver on 127.0.0.1.
#
# Needs target/debug/loket (`cargo build --bin loket`) and the Python venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
VENV="$(scripts/ensure-python.sh)"
PY="$VENV/bin/python"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/loket"
WORK="$(mktemp -d)"
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT="$(free_port)"
RPORT="$(free_port)"
SERVER=""
RECEIVER=""
cleanup() {
    [ -n "$SERVER" ] && kill -9 "$SERVER" 2>/dev/null || true
    [ -n "$RECEIVER" ] && kill "$RECEIVER" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The receiver: answers 500 while $WORK/mode says "fail", 200 after; logs every request.
cat >"$WORK/receiver.py" <<'PY'
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
work, port = sys.argv[1], int(sys.argv[2])
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        mode = open(f"{work}/mode").read().strip()
        status = 500 if mode == "fail" else 200
        with open(f"{work}/hits.jsonl", "a") as f:
            f.write(json.dumps({"status": status, "webhook_id": self.headers.get("webhook-id"),
                                "body": json.loads(body)}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
echo fail >"$WORK/mode"
: >"$WORK/hits.jsonl"
"$PY" "$WORK/receiver.py" "$WORK" "$RPORT" &
RECEIVER=$!

export LOKET_DATABASE_URL="sqlite://$WORK/loket.db" LOKET_ADDR="127.0.0.1:$PORT" LOKET_LOG="warn" \
    LOKET_WEBHOOK_ALLOWED_HOSTS="127.0.0.1" LOKET_WEBHOOK_RETRY_SCHEDULE="2s,2s,2s,2s" \
    LOKET_WEBHOOK_TIMEOUT="1"
LOKET_SECRET_KEY="$("$BIN" admin generate-key)"
export LOKET_SECRET_KEY

start_server() {
    "$BIN" serve >>"$WORK/server.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "loket did not start" >&2
    cat "$WORK/server.log" >&2
    exit 1
}
start_server

CREDS="$("$BIN" admin bootstrap --tenant "Crash test" --json)"
TOKEN="$("$PY" - "$CREDS" "http://127.0.0.1:$PORT" <<'PY'
import json, sys, time, pyotp, requests
creds, base = json.loads(sys.argv[1]), sys.argv[2]
code = pyotp.TOTP(creds["totp_secret"]).now()
r = requests.post(f"{base}/oauth/token", data={"grant_type": "password", "username": creds["username"],
                  "password": creds["password"] + code})
r.raise_for_status()
print(r.json()["access_token"])
PY
)"
api() { curl -sf -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" "$@"; }

api -X POST "http://127.0.0.1:$PORT/api/v1/webhooks/receivers" \
    -d "{\"name\": \"Crash receiver\", \"url\": \"http://127.0.0.1:$RPORT/hook\", \"topics\": [\"Accounts.Create\"]}" >/dev/null
USERS=10
for i in $(seq 1 $USERS); do
    api -X POST "http://127.0.0.1:$PORT/api/v1/users" \
        -d "{\"name\": \"User $i\", \"email\": \"user$i@example.org\"}" >/dev/null
done

# Every event has failed once and waits for its retry: kill -9 now.
for _ in $(seq 1 100); do
    [ "$(wc -l <"$WORK/hits.jsonl")" -ge "$USERS" ] && break
    sleep 0.1
done
kill -9 "$SERVER"
wait "$SERVER" 2>/dev/null || true
echo "killed loket with $(wc -l <"$WORK/hits.jsonl") failed attempts recorded"
echo ok >"$WORK/mode"
start_server

delivered() {
    "$PY" - "$WORK/hits.jsonl" <<'PY'
import json, sys
ids = {json.loads(l)["body"]["data"]["id"] for l in open(sys.argv[1]) if json.loads(l)["status"] == 200}
print(len(ids))
PY
}
for _ in $(seq 1 300); do
    [ "$(delivered)" -ge "$USERS" ] && break
    sleep 0.1
done
n="$(delivered)"
if [ "$n" -ge "$USERS" ]; then
    echo "webhooks crash test: $n of $USERS events delivered after kill -9 and restart"
else
    echo "webhooks crash test FAILED: only $n of $USERS events delivered after kill -9 and restart" >&2
    tail -30 "$WORK/server.log" >&2
    exit 1
fi
