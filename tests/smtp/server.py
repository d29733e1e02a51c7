#!/usr/bin/env python3
"""A real SMTP server for Loket's mail tests (aiosmtpd, from the repo's venv).

    server.py certs --out DIR
        Writes a throw-away CA (ca.pem) and a server certificate signed by it for localhost and
        127.0.0.1 (server.pem, server.key), made with the `cryptography` package.

    server.py serve --dir DIR --cert server.pem --key server.key \
                    [--implicit-port N] [--starttls-port N] [--user U --password P]
        Listens on 127.0.0.1 with implicit TLS on one port and STARTTLS (required) on another;
        port 0 picks a free one. Prints one JSON line {"implicit": port, "starttls": port} when
        ready. AUTH PLAIN/LOGIN with the given user and password is required before MAIL.
        Recipients whose local part starts with `tempfail` get `451 4.3.0`, `permfail` get
        `550 5.1.1`. Each message received is written to DIR as <n>.eml and appended to
        DIR/messages.jsonl: envelope, login, TLS, and the parsed headers, bodies and attachments.
"""

import argparse
import asyncio
import datetime
import email
import email.policy
import ipaddress
import json
import os
import ssl
import sys
import threading

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def make_certs(out: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    os.makedirs(out, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Loket test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    with open(os.path.join(out, "ca.pem"), "wb") as f:
        f.write(ca.public_bytes(pem))
    with open(os.path.join(out, "server.pem"), "wb") as f:
        f.write(cert.public_bytes(pem))
    with open(os.path.join(out, "server.key"), "wb") as f:
        f.write(
            key.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )


def parse_message(raw: bytes) -> dict:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    headers = {k: str(v) for k, v in msg.items()}
    text = html = None
    attachments = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        ctype = part.get_content_type()
        if filename:
            attachments.append(
                {"filename": filename, "content_type": ctype, "content": part.get_content()}
            )
        elif ctype == "text/plain" and text is None:
            text = part.get_content()
        elif ctype == "text/html" and html is None:
            html = part.get_content()
    return {"headers": headers, "text": text, "html": html, "attachments": attachments}


class Recorder:
    def __init__(self, directory: str, kind: str, lock: threading.Lock):
        self.directory = directory
        self.kind = kind
        self.lock = lock

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("tempfail"):
            return "451 4.3.0 Mailbox temporarily unavailable, try again later"
        if local.startswith("permfail"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        with self.lock:
            n = len([f for f in os.listdir(self.directory) if f.endswith(".eml")]) + 1
            eml = os.path.join(self.directory, f"{n}.eml")
            with open(eml, "wb") as f:
                f.write(raw)
            login = None
            if isinstance(session.auth_data, LoginPassword):
                login = session.auth_data.login.decode("utf-8", "replace")
            record = {
                "n": n,
                "port_kind": self.kind,
                "tls": self.kind == "implicit" or session.ssl is not None,
                "login": login,
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "eml": eml,
            }
            record.update(parse_message(raw))
            with open(os.path.join(self.directory, "messages.jsonl"), "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        return f"250 2.0.0 Ok: queued as test-{n}"


def authenticator(user: str, password: str):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        if ok:
            return AuthResult(success=True, auth_data=auth_data)
        # `handled=False`: aiosmtpd answers 535 itself.
        return AuthResult(success=False, handled=False)

    return check


async def serve(args) -> None:
    os.makedirs(args.dir, exist_ok=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)
    lock = threading.Lock()
    loop = asyncio.get_running_loop()
    common = dict(
        hostname="smtp.loket.test",
        auth_required=True,
        authenticator=authenticator(args.user, args.password),
        enable_SMTPUTF8=True,
        timeout=60,
    )
    implicit = await loop.create_server(
        lambda: SMTP(Recorder(args.dir, "implicit", lock), auth_require_tls=False, **common),
        host="127.0.0.1",
        port=args.implicit_port,
        ssl=ctx,
        reuse_address=True,
    )
    starttls = await loop.create_server(
        lambda: SMTP(
            Recorder(args.dir, "starttls", lock),
            tls_context=ctx,
            require_starttls=True,
            auth_require_tls=True,
            **common,
        ),
        host="127.0.0.1",
        port=args.starttls_port,
        reuse_address=True,
    )
    ports = {
        "implicit": implicit.sockets[0].getsockname()[1],
        "starttls": starttls.sockets[0].getsockname()[1],
    }
    print(json.dumps(ports), flush=True)
    await asyncio.Event().wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("certs")
    c.add_argument("--out", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--dir", required=True)
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--implicit-port", type=int, default=0)
    s.add_argument("--starttls-port", type=int, default=0)
    s.add_argument("--user", default="mailer")
    s.add_argument("--password", default="s3cret-pass")
    args = p.parse_args()
    if args.cmd == "certs":
        make_certs(args.out)
    else:
        try:
            asyncio.run(serve(args))
        except KeyboardInterrupt:
            sys.exit(0)


if __name__ == "__main__":
    main()
