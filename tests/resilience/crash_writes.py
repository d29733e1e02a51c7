#!/usr/bin/env python3
"""kill -9 during a burst of writes and webhook deliveries, then restart on the same database.

Usage: crash_writes.py sqlite | postgres://…/<fresh database>

Several clients create tickets concurrently (POST /api/v1/tickets) while a webhook receiver
on 127.0.0.1 gets `Tickets.Create` for each; the server is killed with SIGKILL in the middle
of it and started again on the same database. Then:

- every acknowledged (201) ticket reads back by its number with exactly the fields it was
  created with, and its description as its first message;
- every ticket in the database (acknowledged or not: an unacknowledged write may have
  committed) is delivered to the receiver, signed correctly: no event is lost. Deliveries are
  at least once, so duplicates are allowed and counted;
- the restarted server takes new writes, and delivers them too.
"""
import random
import sys
import threading
import time

import requests

from harness import Api, Receiver, Server, check, log, run

WRITERS = 8
ACKED_BEFORE_KILL = 150      # kill once this many writes are acknowledged ...
BURST_AT_MOST = 8.0          # ... or after this many seconds of burst
DELIVERY_DEADLINE = 45.0     # leases of in-flight deliveries expire after 4 × 1 s + 5 s


def ticket_body(writer, i, tag):
    rnd = random.Random(f"{tag}/{writer}/{i}")
    words = ["zorg", "dossier", "afspraak", "straße", "œuvre", "日本", "ĳs", "\"quoted\"", "a\\b"]
    return {
        "contact_name": f"Writer {writer} nr. {i} ({tag})",
        "contact_email": f"w{writer}.{i}.{tag}@example.org",
        "subject": f"Crash test {tag} w{writer} #{i}: " + " ".join(rnd.choices(words, k=4)),
        "description": "\n".join(" ".join(rnd.choices(words, k=8)) for _ in range(rnd.randint(1, 5))),
        "software_version": f"{writer}.{i}.{rnd.randint(0, 999)}",
        "area": rnd.choice(["Agenda", "Rapportage", "Inloggen"]),
        "cc_emails": [f"cc{n}.w{writer}.{i}@example.org" for n in range(rnd.randint(0, 3))],
    }


class Burst:
    """Writers creating tickets until stopped; records what the server acknowledged."""

    def __init__(self, api, tag):
        self.api, self.tag = api, tag
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = {}          # number -> (id, body)
        self.unacked = 0         # connection failures (outcome unknown)
        self.unexpected = []     # answers other than 201 while the server was up
        self.threads = [threading.Thread(target=self.writer, args=(w,), daemon=True) for w in range(WRITERS)]

    def writer(self, w):
        i = 0
        while not self.stop.is_set():
            i += 1
            body = ticket_body(w, i, self.tag)
            try:
                r = self.api.post("/api/v1/tickets", body, timeout=10)
            except requests.RequestException:
                with self.lock:
                    self.unacked += 1
                time.sleep(0.05)
                continue
            with self.lock:
                if r.status_code == 201:
                    t = r.json()
                    self.acked[t["number"]] = (t["id"], body)
                else:
                    self.unexpected.append(f"{r.status_code} {r.text[:200]}")

    def start(self):
        for t in self.threads:
            t.start()

    def count(self):
        with self.lock:
            return len(self.acked)

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join()


def check_ticket(api, number, ticket_id, body):
    r = api.get(f"/api/v1/tickets/{number}")
    check(r.status_code == 200, f"acknowledged ticket {number} reads back {r.status_code}: {r.text[:200]}")
    t = r.json()
    expected = {
        "id": ticket_id, "number": number, "subject": body["subject"],
        "reporter_name": body["contact_name"], "reporter_email": body["contact_email"],
        "software_version": body["software_version"], "area": body["area"],
        "cc_emails": body["cc_emails"], "status": "new", "channel": "portal",
    }
    for field, value in expected.items():
        check(t.get(field) == value, f"ticket {number}: {field} is {t.get(field)!r}, created as {value!r}")
    r = api.get(f"/api/v1/tickets/{number}/messages")
    check(r.status_code == 200, f"messages of {number} answer {r.status_code}")
    messages = r.json()
    messages = messages["items"] if isinstance(messages, dict) else messages
    check(len(messages) >= 1 and messages[0]["body"] == body["description"],
          f"ticket {number}: first message is {messages[:1]!r}, expected the description")


def all_ticket_ids(api):
    ids, cursor = set(), None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        r = api.get("/api/v1/tickets", params=params)
        check(r.status_code == 200, f"listing tickets answers {r.status_code}: {r.text[:200]}")
        page = r.json()
        ids.update(t["id"] for t in page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return ids


def wait_for_deliveries(receiver, ids, deadline):
    while True:
        delivered = set(receiver.data_ids("Tickets.Create"))
        missing = ids - delivered
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(0.2)


def scenario(database):
    def body(work):
        url = f"sqlite://{work}/loket.db" if database == "sqlite" else database
        # Short webhook timeout: leases of deliveries in flight at the crash expire in 9 s.
        server = Server(url, work, LOKET_WEBHOOK_TIMEOUT=1, LOKET_WEBHOOK_RETRY_SCHEDULE="1s,1s,1s,1s,1s")
        server.start()
        api = Api(server.base, server.bootstrap("Crash writes"))
        receiver = Receiver(delay=0.1)
        receiver.subscribe(api, ["Tickets.Create"])

        burst = Burst(api, "before")
        started = time.monotonic()
        burst.start()
        while burst.count() < ACKED_BEFORE_KILL and time.monotonic() - started < BURST_AT_MOST:
            time.sleep(0.02)
        delivered_at_kill = len(set(receiver.data_ids("Tickets.Create")))
        in_flight_at_kill = receiver.in_flight
        server.kill9()
        killed_at = time.monotonic()
        time.sleep(0.3)          # writers keep trying against the dead server
        burst.join()
        check(not burst.unexpected, f"answers other than 201 before the crash: {burst.unexpected[:5]}")
        check(burst.count() >= 20, f"only {burst.count()} writes acknowledged before the kill")
        # The kill must hit undelivered events, or this scenario proves nothing.
        check(delivered_at_kill < burst.count(),
              f"all {burst.count()} acknowledged writes were delivered before the kill")
        log(f"killed with -9 after {killed_at - started:.1f} s: {burst.count()} writes acknowledged, "
            f"{burst.unacked} unanswered; {delivered_at_kill} events delivered, {in_flight_at_kill} in flight")

        server.start()
        log(f"restarted in {time.monotonic() - killed_at:.1f} s")
        for number, (ticket_id, ticket) in burst.acked.items():
            check_ticket(api, number, ticket_id, ticket)

        after = Burst(api, "after")
        after.start()
        time.sleep(0.5)
        after.join()
        check(not after.unexpected and after.unacked == 0,
              f"writes after the restart failed: {after.unexpected[:5]} ({after.unacked} unanswered)")
        for number, (ticket_id, ticket) in after.acked.items():
            check_ticket(api, number, ticket_id, ticket)

        stored = all_ticket_ids(api)
        acked_ids = {i for (i, _) in burst.acked.values()} | {i for (i, _) in after.acked.values()}
        check(acked_ids <= stored, f"acknowledged tickets missing from the list: {acked_ids - stored}")
        missing = wait_for_deliveries(receiver, stored, time.monotonic() + DELIVERY_DEADLINE)
        check(not receiver.bad, f"deliveries that failed verification: {receiver.bad[:3]}")
        check(not missing, f"{len(missing)} of {len(stored)} tickets never delivered: {sorted(missing)[:5]}")
        ids = receiver.data_ids("Tickets.Create")
        log(f"{len(stored)} tickets stored ({len(stored) - len(acked_ids)} committed without an answer), "
            f"all delivered after {time.monotonic() - killed_at:.1f} s; "
            f"{len(ids) - len(set(ids))} duplicate deliveries (at least once)")
        check(server.alive(), "the restarted server died")
        receiver.close()
    return body


if __name__ == "__main__":
    db = sys.argv[1]
    run(f"crash-writes-{'sqlite' if db == 'sqlite' else 'postgres'}", scenario(db))
