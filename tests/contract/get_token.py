#!/usr/bin/env python3
"""Bootstraps a tenant with the real `loket` binary and prints an access token for it.

Usage: token.py <loket binary> <base url>   (LOKET_* settings come from the environment)
Uses pyotp (an independent TOTP implementation) and Authlib (a standard OAuth2 client).
"""
import json
import subprocess
import sys

import pyotp
from authlib.integrations.requests_client import OAuth2Session

binary, url = sys.argv[1], sys.argv[2]
out = subprocess.run([binary, "admin", "bootstrap", "--tenant", "Contract tests", "--json"],
                     check=True, capture_output=True, text=True).stdout
creds = json.loads(out)
session = OAuth2Session(token_endpoint=f"{url}/oauth/token", token_endpoint_auth_method="none")
token = session.fetch_token(f"{url}/oauth/token", username=creds["username"],
                            password=creds["password"] + pyotp.TOTP(creds["totp_secret"]).now())
print(token["access_token"])
