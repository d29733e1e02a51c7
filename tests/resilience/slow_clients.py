#!/usr/bin/env python3
"""Slow and oversized requests must not take the server down or starve other clients.

- SLOW_CLIENTS connections send their request head one byte at a time, and others send a
  body one byte at a time; the server must close every one of them after
  LOKET_CLIENT_REQUEST_TIMEOUT / LOKET_CLIENT_BODY_TIMEOUT (with a 408), not before and not
  much later, while a normal client, polling all along, is served quickly every time;
- a request head over LOKET_MAX_HEADER_BYTES answers 431 problem+json; one over the HTTP
  layer's own 128 KiB limit answers 431 or is closed; too many header lines answer 431;
- a JSON body over LOKET_MAX_BODY_BYTES answers 413 problem+json (with a Content-Length,
  chunked, and through the Idempotency-Key middleware), a multipart form whose fields exceed
  it answers 413, and a file part over LOKET_ATTACHMENT_MAX_BYTES answers 422 naming
  `attachments[0]` (the documented answer);
- the server stays up and keeps serving throughout.
"""
import json
import selectors
import socket
import threading
import time

import requests

from harness import Api, Server, check, log, run

HEAD_TIMEOUT = 2             # LOKET_CLIENT_REQUEST_TIMEOUT
BODY_TIMEOUT = 3             # LOKET_CLIENT_BODY_TIMEOUT
MAX_HEADER = 16 * 1024       # LOKET_MAX_HEADER_BYTES
MAX_BODY = 64 * 1024         # LOKET_MAX_BODY_BYTES
MAX_FILE = 128 * 1024        # LOKET_ATTACHMENT_MAX_BYTES
SLOW_CLIENTS = 150           # connections trickling their head
SLOW_BODIES = 20             # connections trickling their body
TRICKLE = 0.25               # seconds between two bytes of a slow client
SERVED_WITHIN = 1.0          # seconds the normal client may wait for any answer


class Slow:
    """A connection that sends `data` one byte every TRICKLE seconds until closed."""

    def __init__(self, port, data):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setblocking(False)
        self.data, self.sent = data, 0
        self.opened = time.monotonic()
        self.closed = None       # seconds after opening that the server closed it
        self.answered = None     # seconds after opening that the answer (or the close) came
        self.answer = b""

    def trickle(self):
        if self.closed is None and self.sent < len(self.data):
            try:
                self.sent += self.sock.send(self.data[self.sent:self.sent + 1])
            except OSError:
                self.close()

    def readable(self):
        try:
            chunk = self.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if chunk:
            if self.answered is None:
                self.answered = time.monotonic() - self.opened
            self.answer += chunk
        else:
            self.close()

    def close(self):
        if self.closed is None:
            self.closed = time.monotonic() - self.opened
        if self.answered is None:
            self.answered = self.closed
        self.sock.close()


def slow_attack(server, api):
    head = (b"GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + b"".join(b"X-Slow-%d: %s\r\n" % (i, b"z" * 20) for i in range(40)) + b"\r\n")
    body = json.dumps({"contact_name": "Slow", "contact_email": "slow@example.org",
                       "subject": "Slow", "description": "x" * 4000}).encode()
    post = (b"POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Authorization: {api.headers['Authorization']}\r\nContent-Length: {len(body)}\r\n\r\n".encode())
    heads = [Slow(server.port, head) for _ in range(SLOW_CLIENTS)]
    bodies = []
    for _ in range(SLOW_BODIES):
        s = Slow(server.port, post + body)
        s.sock.setblocking(True)
        s.sock.sendall(post)              # the head at once; the body trickles
        s.sock.setblocking(False)
        s.sent = len(post)
        bodies.append(s)
    everyone = heads + bodies

    # Meanwhile a normal client polls; every answer must be quick and right.
    latencies, failures, stop = [], [], threading.Event()

    def normal_client():
        while not stop.is_set():
            for path in ("/health", "/api/v1/me"):
                started = time.monotonic()
                try:
                    r = api.get(path, timeout=5)
                    if r.status_code != 200:
                        failures.append(f"{path}: {r.status_code}")
                except requests.RequestException as e:
                    failures.append(f"{path}: {e}")
                latencies.append(time.monotonic() - started)
            time.sleep(0.05)

    poller = threading.Thread(target=normal_client, daemon=True)
    poller.start()
    selector = selectors.DefaultSelector()
    for s in everyone:
        selector.register(s.sock, selectors.EVENT_READ, s)
    deadline = time.monotonic() + BODY_TIMEOUT + 6
    next_byte = time.monotonic()
    while time.monotonic() < deadline and any(s.closed is None for s in everyone):
        for key, _ in selector.select(timeout=0.05):
            key.data.readable()
            if key.data.closed is not None:
                selector.unregister(key.fileobj)
        if time.monotonic() >= next_byte:
            for s in everyone:
                s.trickle()
            next_byte += TRICKLE
    stop.set()
    poller.join()
    selector.close()
    still_open = [s for s in everyone if s.closed is None]
    for s in still_open:
        s.close()

    check(not still_open, f"{len(still_open)} slow connections still open {BODY_TIMEOUT + 6} s later")
    for name, group, limit in (("head", heads, HEAD_TIMEOUT), ("body", bodies, BODY_TIMEOUT)):
        # actix reads a clock it refreshes every 500 ms, so its head timeout may end early by
        # that much; after the 408 it waits up to a second for the client before closing.
        early = [round(s.answered, 2) for s in group if s.answered < limit - 0.8]
        late = [round(s.answered, 2) for s in group if s.answered > limit + 1.5]
        check(not early, f"slow {name}s answered before their {limit} s timeout: {early[:5]}")
        check(not late, f"slow {name}s answered long after their {limit} s timeout: {late[:5]}")
        statuses = {s.answer.split(b"\r\n", 1)[0] for s in group}
        check(statuses == {b"HTTP/1.1 408 Request Timeout"}, f"slow {name}s were answered {statuses}")
    check(b"application/problem+json" in bodies[0].answer and b"/problems/request-timeout" in bodies[0].answer,
          f"a slow body's 408 is not a problem document: {bodies[0].answer[:400]!r}")
    check(not failures, f"the normal client failed during the attack: {failures[:5]}")
    check(len(latencies) >= 10, f"the normal client made only {len(latencies)} requests")
    worst = max(latencies)
    check(worst < SERVED_WITHIN, f"the normal client waited {worst:.2f} s during the attack")
    def span(group, attr):
        values = [getattr(s, attr) for s in group]
        return f"{min(values):.1f}-{max(values):.1f} s"
    log(f"{SLOW_CLIENTS} slow heads answered 408 after {span(heads, 'answered')} and closed after "
        f"{span(heads, 'closed')}, {SLOW_BODIES} slow bodies after {span(bodies, 'answered')} and "
        f"{span(bodies, 'closed')}; meanwhile {len(latencies)} normal requests, slowest {worst * 1000:.0f} ms")


def raw(port, data):
    """Sends `data` on a new connection; returns the answer's status line, headers, body
    (b"" if the server closed without one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        try:
            s.sendall(data)
        except OSError:
            pass
        answer = b""
        try:
            while chunk := s.recv(65536):
                answer += chunk
                head, _, rest = answer.partition(b"\r\n\r\n")
                length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")]
                if _ and length and len(rest) >= length[0]:
                    break
        except OSError:
            pass
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
    return lines[0], headers, body


def expect_problem(what, status_line, headers, body, status, slug):
    check(status_line.startswith(f"HTTP/1.1 {status} ".encode()), f"{what}: answered {status_line!r}")
    check(headers.get(b"content-type") == b"application/problem+json", f"{what}: content type {headers.get(b'content-type')!r}")
    problem = json.loads(body)
    check(problem["type"] == f"/problems/{slug}" and problem["status"] == status, f"{what}: {problem}")
    return problem


def oversized(server, api):
    port, auth = server.port, api.headers["Authorization"].encode()
    # Headers.
    big = b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth + b"\r\nX-Big: " + b"a" * (MAX_HEADER + 1) + b"\r\n\r\n"
    p = expect_problem("a head over LOKET_MAX_HEADER_BYTES", *raw(port, big), 431, "headers-too-large")
    check(p.get("request_id"), f"the 431 has no request id: {p}")
    huge = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Huge: " + b"a" * (200 * 1024) + b"\r\n\r\n"
    status, _, _ = raw(port, huge)
    check(status in (b"", b"HTTP/1.1 431 Request Header Fields Too Large"), f"a 200 KiB head answered {status!r}")
    many = b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: a\r\n" % i for i in range(200)) + b"\r\n"
    status, _, _ = raw(port, many)
    check(status in (b"", b"HTTP/1.1 431 Request Header Fields Too Large"), f"200 header lines answered {status!r}")
    just_under = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (MAX_HEADER - 200) + b"\r\n\r\n"
    status, _, _ = raw(port, just_under)
    check(status == b"HTTP/1.1 200 OK", f"a head just under the limit answered {status!r}")

    # JSON bodies.
    body = json.dumps({"contact_name": "Big", "contact_email": "big@example.org", "subject": "Big",
                       "description": "x" * (MAX_BODY + 1)})
    for what, kw in (("a JSON body with Content-Length", {}),
                     ("a JSON body with Idempotency-Key", {"headers": {"Idempotency-Key": "oversized-1"}}),
                     ("a chunked JSON body", {"data": iter([body.encode()[i:i + 8192] for i in range(0, len(body), 8192)])})):
        if "data" in kw:
            r = api.session().post(api.base + "/api/v1/tickets", timeout=10,
                                   headers={"Content-Type": "application/json"}, **kw)
        else:
            r = api.session().post(api.base + "/api/v1/tickets", data=body, timeout=10,
                                   headers={"Content-Type": "application/json", **kw.get("headers", {})})
        check(r.status_code == 413, f"{what}: {r.status_code} {r.text[:200]}")
        check(r.headers.get("content-type") == "application/problem+json"
              and r.json()["type"] == "/problems/payload-too-large", f"{what}: {r.headers.get('content-type')} {r.text[:200]}")

    # Multipart.
    fields = {"contact_name": "Upload", "contact_email": "upload@example.org", "subject": "Upload"}
    r = api.session().post(api.base + "/api/v1/tickets", timeout=10,
                           files={**{k: (None, v) for k, v in fields.items()}, "description": (None, "x" * (MAX_BODY + 1))})
    check(r.status_code == 413 and r.json()["type"] == "/problems/payload-too-large",
          f"multipart fields over the limit: {r.status_code} {r.text[:200]}")
    r = api.session().post(api.base + "/api/v1/tickets", timeout=10,
                           files={**{k: (None, v) for k, v in fields.items()}, "description": (None, "file"),
                                  "attachments": ("big.bin", b"\0" * (MAX_FILE + 1), "application/octet-stream")})
    check(r.status_code == 422 and r.json()["invalid_params"][0]["name"] == "attachments[0]",
          f"a file over LOKET_ATTACHMENT_MAX_BYTES: {r.status_code} {r.text[:300]}")
    r = api.session().post(api.base + "/api/v1/tickets", timeout=10,
                           files={**{k: (None, v) for k, v in fields.items()}, "description": (None, "file"),
                                  "attachments": ("ok.txt", b"fine\n" * 100, "text/plain")})
    check(r.status_code == 201, f"a multipart ticket within the limits: {r.status_code} {r.text[:300]}")
    log("heads over the limit 431, bodies over the limit 413, an oversized file 422; "
        "requests within the limits still 200/201")


def scenario(work):
    server = Server(f"sqlite://{work}/loket.db", work, LOKET_WORKERS=2,
                    LOKET_CLIENT_REQUEST_TIMEOUT=HEAD_TIMEOUT, LOKET_CLIENT_BODY_TIMEOUT=BODY_TIMEOUT,
                    LOKET_MAX_HEADER_BYTES=MAX_HEADER, LOKET_MAX_BODY_BYTES=MAX_BODY,
                    LOKET_ATTACHMENT_MAX_BYTES=MAX_FILE)
    server.start()
    api = Api(server.base, server.bootstrap("Slow clients"))
    slow_attack(server, api)
    oversized(server, api)
    check(server.alive(), "loket died")
    r = api.get("/api/v1/me", timeout=SERVED_WITHIN)
    check(r.status_code == 200, f"after everything: {r.status_code}")


if __name__ == "__main__":
    run("slow-clients", scenario)
