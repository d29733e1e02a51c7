#!/usr/bin/env python3
"""A Loket client built on a standard OAuth2 library (Authlib), with pyotp for the TOTP code.

    pip install authlib requests pyotp
    python3 examples/python_client.py --url http://127.0.0.1:8080 \
        --username … --password … --totp-secret …

Logs in with the password grant (password + current code), calls the API, lets Authlib refresh
the token, creates a user, and impersonates it (RFC 8693 token exchange) when allowed.
"""
import argparse
import json

import pyotp
from authlib.integrations.requests_client import OAuth2Session


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8080")
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--totp-secret", required=True)
    args = p.parse_args()

    token_url = f"{args.url}/oauth/token"
    # API accounts are their own OAuth2 clients: no client id or secret.
    session = OAuth2Session(token_endpoint=token_url, token_endpoint_auth_method="none")
    code = pyotp.TOTP(args.totp_secret).now()
    token = session.fetch_token(token_url, username=args.username, password=args.password + code)
    base = token["base_url"]
    print("logged in; scope:", token["scope"])

    me = session.get(f"{base}/me").json()
    print("me:", json.dumps(me))

    token = session.refresh_token(token_url, refresh_token=token["refresh_token"])
    print("refreshed; expires_in:", token["expires_in"])

    user = session.post(f"{base}/users", json={"name": "Example User", "email": f"example.{pyotp.random_base32()[:6].lower()}@example.org",
                                               "permissions": ["accounts:read"]})
    user.raise_for_status()
    user = user.json()
    print("created user:", user["id"])

    if "impersonate" in me["permissions"] or "superadmin" in me["permissions"]:
        exchanged = session.post(token_url, data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": token["access_token"],
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "requested_subject": user["id"],
        }, withhold_token=True)
        exchanged.raise_for_status()
        acting = OAuth2Session(token=exchanged.json())
        print("impersonating:", json.dumps(acting.get(f"{base}/me").json()))


if __name__ == "__main__":
    main()
