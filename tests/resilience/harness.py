"""Shared parts of the resilience scenarios: a real `loket serve` process, a webhook receiver on
127.0.0.1, an API account with a token, and precise checks.

Every scenario runs the real server binary (LOKET_BIN, default target/debug/loket) and talks
to it over HTTP on 127.0.0.1 only. Nothing is mocked.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyotp
import requests
from standardwebhooks.webhooks import Webhook

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("LOKET_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "debug", "loket")


class Failure(Exception):
    """A failed assertion of a scenario."""


def check(condition, message):
    """Fails the scenario with `message` unless `condition` holds."""
    if not condition:
        raise Failure(message)


def log(message):
    print(f"  {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_limit(seconds):
    """Fails the scenario if it runs longer than `seconds` (a hang is a failure); SIGTERM
    (from `timeout`) also ends it with the usual clean-up."""
    def expired(*_):
        raise Failure(f"still running after {seconds} s")

    def terminated(*_):
        raise Failure("terminated")
    signal.signal(signal.SIGALRM, expired)
    signal.signal(signal.SIGTERM, terminated)
    signal.alarm(seconds)


SERVERS = []


class Server:
    """One `loket serve` process on 127.0.0.1 with the given database and extra settings."""

    def __init__(self, database_url, work, **settings):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.work = work
        self.log_path = os.path.join(work, "server.log")
        self.proc = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
        self.env.update({
            "LOKET_DATABASE_URL": database_url,
            "LOKET_ADDR": f"127.0.0.1:{self.port}",
            "LOKET_LOG": "warn",
            "LOKET_LOG_FORMAT": "json",
            "LOKET_SECRET_KEY": subprocess.run([BIN, "admin", "generate-key"], check=True,
                                               capture_output=True, text=True).stdout.strip(),
            "LOKET_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "LOKET_ATTACHMENTS_URL": f"file://{work}/attachments",
        })
        self.env.update({k: str(v) for k, v in settings.items()})
        SERVERS.append(self)

    def start(self, timeout=20):
        with open(self.log_path, "a") as out:
            self.proc = subprocess.Popen([BIN, "serve"], env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT, cwd=self.work)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            check(self.proc.poll() is None, f"loket exited with {self.proc.returncode}\n{self.tail()}")
            try:
                if requests.get(f"{self.base}/ready", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise Failure(f"loket did not become ready within {timeout} s\n{self.tail()}")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines=30):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def admin(self, *args):
        """Runs `loket admin …` on the same database and settings."""
        return subprocess.run([BIN, "admin", *args], env=self.env, check=True,
                              capture_output=True, text=True, cwd=self.work).stdout

    def bootstrap(self, tenant):
        """A new tenant with a superadmin API account; returns a session with its bearer token."""
        creds = json.loads(self.admin("bootstrap", "--tenant", tenant, "--json"))
        code = pyotp.TOTP(creds["totp_secret"]).now()
        r = requests.post(f"{self.base}/oauth/token", timeout=10, data={
            "grant_type": "password", "username": creds["username"],
            "password": creds["password"] + code})
        check(r.status_code == 200, f"token request answered {r.status_code}: {r.text}")
        return r.json()["access_token"]


class Api:
    """Authenticated JSON calls; one `requests.Session` per thread."""

    def __init__(self, base, token):
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}
        self.local = threading.local()

    def session(self):
        if not hasattr(self.local, "s"):
            self.local.s = requests.Session()
            self.local.s.headers.update(self.headers)
        return self.local.s

    def get(self, path, **kw):
        kw.setdefault("timeout", 10)
        return self.session().get(self.base + path, **kw)

    def post(self, path, body=None, **kw):
        kw.setdefault("timeout", 10)
        return self.session().post(self.base + path, json=body, **kw)


class Receiver:
    """A webhook receiver on 127.0.0.1: verifies each delivery's signature once its secret is
    known, answers 200 after `delay` seconds, records every delivery."""

    def __init__(self, delay=0.0):
        self.lock = threading.Lock()
        self.hits = []          # (webhook-id, topic, data) of well-signed deliveries
        self.bad = []           # what failed verification
        self.secret = None
        self.delay = delay
        self.in_flight = 0      # requests being answered right now
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.in_flight += 1
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.in_flight -= 1
                receiver.record(body, {k.lower(): v for k, v in self.headers.items()})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        class Quiet(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a killed sender resets its connections; that is the point

        self.server = Quiet(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def record(self, body, headers):
        try:
            payload = Webhook(self.secret).verify(body, headers) if self.secret else json.loads(body)
            hit = (headers.get("webhook-id"), payload["topic"], payload["data"])
        except Exception as e:  # noqa: BLE001 - any failure is a finding
            with self.lock:
                self.bad.append(f"{e!r}: {body[:200]!r}")
            return
        with self.lock:
            self.hits.append(hit)

    def subscribe(self, api, topics):
        r = api.post("/api/v1/webhooks/receivers",
                     {"name": "Resilience receiver", "url": self.url, "topics": topics})
        check(r.status_code == 201, f"creating the receiver answered {r.status_code}: {r.text}")
        self.secret = r.json()["secret"]

    def data_ids(self, topic):
        with self.lock:
            return [d["id"] for (_, t, d) in self.hits if t == topic]

    def close(self):
        self.server.shutdown()


def work_dir(name):
    d = tempfile.mkdtemp(prefix=f"loket-{name}-")
    return d


def run(name, scenario, limit=110):
    """Runs `scenario(work)` with a time limit; prints PASS/FAIL with the elapsed time."""
    time_limit(limit)
    work = work_dir(name)
    started = time.monotonic()
    try:
        scenario(work)
    except Failure as e:
        print(f"{name} FAILED after {time.monotonic() - started:.1f} s: {e}", file=sys.stderr, flush=True)
        for n, server in enumerate(SERVERS):
            kept = os.path.join(tempfile.gettempdir(), f"loket-{name}-server{n}.log")
            shutil.copyfile(server.log_path, kept)
            print(f"--- server log, last lines (all of it in {kept}) ---\n{server.tail()}",
                  file=sys.stderr, flush=True)
        sys.exit(1)
    finally:
        signal.alarm(0)
        for server in SERVERS:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{name}: passed in {time.monotonic() - started:.1f} s", flush=True)
