#!/usr/bin/env bash
# Logs in with curl (password grant, TOTP code appended to the password) and calls the API.
#
#   LOKET_URL=http://127.0.0.1:8080 LOKET_USERNAME=… LOKET_PASSWORD=… LOKET_TOTP_SECRET=… examples/curl_login.sh
#
# Get the three credentials from `loket admin bootstrap --tenant "My organisation"`.
set -euo pipefail
URL="${LOKET_URL:-http://127.0.0.1:8080}"
here="$(cd "$(dirname "$0")" && pwd)"
CODE="$(python3 "$here/totp.py" "$LOKET_TOTP_SECRET")"

# 1. Log in: password + current 6-digit code. The answer carries access_token, refresh_token and base_url.
RESPONSE="$(curl -sS --fail-with-body "$URL/oauth/token" \
    -d grant_type=password \
    --data-urlencode "username=$LOKET_USERNAME" \
    --data-urlencode "password=${LOKET_PASSWORD}${CODE}")"
TOKEN="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])' <<<"$RESPONSE")"
BASE="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["base_url"])' <<<"$RESPONSE")"
REFRESH="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])' <<<"$RESPONSE")"

# 2. Call the API with the bearer token.
curl -sS --fail-with-body "$BASE/me" -H "Authorization: Bearer $TOKEN"; echo
curl -sS --fail-with-body "$BASE/users?limit=5" -H "Authorization: Bearer $TOKEN"; echo

# 3. An hour later: a new access token from the refresh token, no TOTP code needed.
curl -sS --fail-with-body "$URL/oauth/token" -d grant_type=refresh_token --data-urlencode "refresh_token=$REFRESH" \
    | python3 -c 'import json,sys; t=json.load(sys.stdin); print("refreshed; expires_in", t["expires_in"])'
