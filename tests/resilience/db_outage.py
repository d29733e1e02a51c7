#!/usr/bin/env python3
"""The database goes away and comes back while loket runs.

Starts a PRIVATE PostgreSQL cluster (LOKET_PG_DIR=/tmp/loket-pg-resilience, its own port; the
shared /tmp/loket-pg cluster other tests use is never touched), runs loket on it, stops
PostgreSQL with `pg_ctl stop -m immediate`, and checks that while it is down

- `/health` (liveness) answers 200;
- `/ready` answers 503 application/problem+json;
- authenticated GET and POST calls (with a warm and a cold token cache, with and without
  Idempotency-Key) answer 503 application/problem+json with `Retry-After` and a request id,
  each within LIMIT seconds: no hang, no 500;

then starts PostgreSQL again and checks that loket recovers by itself, without a restart:
`/ready` 200, the ticket acknowledged just before the crash reads back, POST 201, the POST
refused during the outage succeeds when retried with its Idempotency-Key, and the webhook
worker delivers every ticket's event.
"""
import os
import subprocess
import time
import uuid

import requests

from harness import ROOT, Api, Receiver, Server, check, log, run

PG_DIR = os.environ.get("LOKET_RESILIENCE_PG_DIR", "/tmp/loket-pg-resilience")
LIMIT = 5.0          # seconds an answer may take while the database is down
RECOVERY = 15.0      # seconds loket may take to notice the database is back


def pg_env():
    env = dict(os.environ, LOKET_PG_DIR=PG_DIR)
    env.pop("LOKET_TEST_POSTGRES_URL", None)  # never an external server: this one is stopped
    env.setdefault("LOKET_PG_PORT", "55499")
    return env


def pg_start():
    """Starts (or initialises) the private cluster; returns its admin URL."""
    out = subprocess.run([os.path.join(ROOT, "scripts", "ensure-postgres.sh")], env=pg_env(),
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def pg_stop_immediately():
    with open(os.path.join(PG_DIR, "PG_VERSION")) as f:
        version = f.read().strip()
    pg_ctl = f"/usr/lib/postgresql/{version}/bin/pg_ctl"
    if not os.path.exists(pg_ctl):
        pg_ctl = "pg_ctl"
    cmd = [pg_ctl, "-D", PG_DIR, "stop", "-m", "immediate", "-w"]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    subprocess.run(cmd, check=True, capture_output=True, cwd="/")


def timed(call):
    started = time.monotonic()
    try:
        r = call()
    except requests.Timeout:
        r = None
    return r, time.monotonic() - started


def expect_unavailable(what, call):
    r, took = timed(call)
    check(r is not None, f"{what}: no answer within {LIMIT} s while the database is down")
    check(r.status_code == 503, f"{what}: {r.status_code} while the database is down: {r.text[:300]}")
    check(r.headers.get("content-type") == "application/problem+json",
          f"{what}: content type {r.headers.get('content-type')!r}")
    problem = r.json()
    check(problem.get("type") == "/problems/unavailable" and problem.get("status") == 503,
          f"{what}: problem {problem}")
    check(problem.get("request_id") and problem["request_id"] == r.headers.get("x-request-id"),
          f"{what}: request id {problem.get('request_id')!r} vs header {r.headers.get('x-request-id')!r}")
    check(r.headers.get("retry-after", "").isdigit(), f"{what}: Retry-After {r.headers.get('retry-after')!r}")
    check(took < LIMIT, f"{what}: took {took:.1f} s")
    return took


def new_ticket(n):
    return {"contact_name": f"Outage {n}", "contact_email": f"outage{n}@example.org",
            "subject": f"Database outage test {n}", "description": "Does loket recover?"}


def scenario(work):
    admin_url = pg_start()
    database = f"loket_outage_{uuid.uuid4().hex[:8]}"
    subprocess.run(["psql", admin_url, "-Xq", "-c", f"create database {database}"], check=True)
    # ensure-postgres.sh starts the cluster with synchronous_commit=off (fast tests), which
    # loses the last acknowledged commits when PostgreSQL crashes; production runs with it on.
    subprocess.run(["psql", admin_url, "-Xq", "-c", f"alter database {database} set synchronous_commit = on"],
                   check=True)
    url = admin_url.rsplit("/", 1)[0] + "/" + database
    try:
        outage(work, url)
    finally:
        pg_start()
        subprocess.run(["psql", admin_url, "-Xq", "-c", f"drop database if exists {database} with (force)"],
                       capture_output=True)
        subprocess.run([os.path.join(ROOT, "scripts", "stop-postgres.sh")], env=pg_env())


def outage(work, url):
    # A short token cache, so calls soon after the outage begins meet a cold cache and the
    # bearer check itself needs the database.
    server = Server(url, work, LOKET_AUTH_CACHE_TTL=1, LOKET_WEBHOOK_TIMEOUT=2,
                    LOKET_WEBHOOK_RETRY_SCHEDULE="1s,1s,1s,1s,1s,1s,1s,1s,1s,1s")
    server.start()
    api = Api(server.base, server.bootstrap("Database outage"))
    receiver = Receiver()
    receiver.subscribe(api, ["Tickets.Create"])
    check(api.get("/api/v1/tickets").status_code == 200, "GET before the outage")
    r = api.post("/api/v1/tickets", new_ticket(0))
    check(r.status_code == 201, f"POST before the outage: {r.status_code}")
    before = r.json()

    pg_stop_immediately()
    stopped = time.monotonic()
    log("PostgreSQL stopped (immediate)")
    slowest = 0.0
    key = str(uuid.uuid4())
    for round_ in range(3):
        r, took = timed(lambda: requests.get(f"{server.base}/health", timeout=LIMIT))
        check(r is not None and r.status_code == 200 and took < 1,
              f"/health while the database is down: {r and r.status_code} in {took:.1f} s")
        slowest = max(slowest, expect_unavailable("/ready", lambda: requests.get(f"{server.base}/ready", timeout=LIMIT)))
        slowest = max(slowest, expect_unavailable("GET /api/v1/tickets", lambda: api.get("/api/v1/tickets", timeout=LIMIT)))
        slowest = max(slowest, expect_unavailable("GET /api/v1/me", lambda: api.get("/api/v1/me", timeout=LIMIT)))
        slowest = max(slowest, expect_unavailable(
            "POST /api/v1/tickets", lambda: api.post("/api/v1/tickets", new_ticket(1), timeout=LIMIT)))
        slowest = max(slowest, expect_unavailable(
            "POST /api/v1/tickets with Idempotency-Key",
            lambda: api.post("/api/v1/tickets", new_ticket(2), timeout=LIMIT, headers={"Idempotency-Key": key})))
        time.sleep(1.2)  # the next round meets an expired token cache
    check(server.alive(), "loket died while the database was down")
    log(f"{time.monotonic() - stopped:.1f} s without a database: /health 200, every other call 503 "
        f"problem+json with Retry-After, the slowest in {slowest:.2f} s")

    pg_start()
    back = time.monotonic()
    while True:
        r, _ = timed(lambda: requests.get(f"{server.base}/ready", timeout=LIMIT))
        if r is not None and r.status_code == 200:
            break
        check(time.monotonic() - back < RECOVERY, f"/ready still {r and r.status_code} {RECOVERY} s after PostgreSQL is back")
        time.sleep(0.1)
    log(f"PostgreSQL started again; /ready 200 after {time.monotonic() - back:.1f} s")
    r = api.get(f"/api/v1/tickets/{before['number']}")
    check(r.status_code == 200 and r.json()["id"] == before["id"],
          f"the ticket acknowledged before the outage reads back {r.status_code} {r.text[:200]}")
    r = api.post("/api/v1/tickets", new_ticket(3))
    check(r.status_code == 201, f"POST after recovery: {r.status_code} {r.text[:200]}")
    created = r.json()["id"]
    r = api.post("/api/v1/tickets", new_ticket(2), headers={"Idempotency-Key": key})
    check(r.status_code == 201, f"retried POST with its Idempotency-Key: {r.status_code} {r.text[:200]}")
    retried = r.json()["id"]
    deadline = time.monotonic() + RECOVERY
    while not {before["id"], created, retried} <= set(receiver.data_ids("Tickets.Create")):
        check(time.monotonic() < deadline,
              f"tickets created around the outage were not delivered to the webhook receiver within {RECOVERY} s "
              f"({len(receiver.hits)} deliveries, {len(receiver.bad)} badly signed: {receiver.bad[:2]})")
        time.sleep(0.1)
    check(not receiver.bad, f"deliveries that failed verification: {receiver.bad[:3]}")
    check(server.alive(), "loket died")
    log("recovered without a restart: GET 200, POST 201, the refused POST retried 201, webhooks delivered")
    receiver.close()


if __name__ == "__main__":
    run("db-outage", scenario)
