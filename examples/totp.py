#!/usr/bin/env python3
"""Prints the current RFC 6238 TOTP code (SHA-1, 6 digits, 30 s) for a base32 secret.

Standard library only, so the curl example needs nothing installed:
    python3 examples/totp.py JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
"""
import base64, hmac, struct, sys, time

def totp(secret: str, at: float | None = None) -> str:
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = struct.pack(">Q", int((time.time() if at is None else at) // 30))
    digest = hmac.new(key, counter, "sha1").digest()
    offset = digest[-1] & 0x0F
    code = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{code % 1_000_000:06d}"

if __name__ == "__main__":
    print(totp(sys.argv[1]))
