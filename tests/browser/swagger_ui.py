#!/usr/bin/env python3
"""Real-browser end-to-end test of Swagger UI, done as a person would.

Usage: swagger_ui.py <base url> <bootstrap json>
  <bootstrap json>  the output of `loket admin bootstrap --json` (username, password,
                    totp_secret, tenant_id, api_account_id)

Env:
  LOKET_TEST_CHROMIUM             chromium binary (default /usr/bin/chromium; scripts/ensure-browser.sh)
  LOKET_TEST_BROWSER_SCREENSHOT   where to save the screenshot (default $TMPDIR/swagger-ui.png;
                                  the whole page goes to *-full.png, the authorized dialog
                                  to *-authorize.png, a failure to *-failure.png)
  LOKET_TEST_BROWSER_TIMEOUT_MS   per-step wait (default 20000)

Headless Chromium (Debian's, driven by Playwright) opens /swagger-ui/, waits for the spec to
render, logs in through the Authorize dialog with the oauth2 password flow (password + the
current TOTP code from pyotp, client id/secret left empty), then runs "Try it out" / "Execute"
on GET /api/v1/me and checks the live response. It also checks that the page loaded nothing
from outside 127.0.0.1 and raised no uncaught JavaScript error.
"""
import json
import os
import re
import sys
import tempfile
import time
import traceback
from urllib.parse import urlsplit

import pyotp
from playwright.sync_api import expect, sync_playwright

# Without the background-networking/component-update/sync switches Chromium's own connections
# (to Google) get refused in the sandbox and can stall; --disable-quic keeps it on plain TCP.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1"}


def step(msg):
    print(f"[swagger-ui] {msg}", flush=True)


def fresh_totp(secret):
    """The current TOTP code, waiting for the next 30 s step when this one is about to end
    (so the code can't expire between typing it and the server checking it)."""
    totp = pyotp.TOTP(secret)
    left = totp.interval - time.time() % totp.interval
    if left < 5:
        time.sleep(left + 0.2)
    return totp.now()


def run(page, base, creds, timeout_ms, shot_base=None):
    tenant_id = creds["tenant_id"]

    # 1. The UI renders the spec.
    step(f"open {base}/swagger-ui/")
    page.goto(f"{base}/swagger-ui/", wait_until="domcontentloaded")
    title = page.locator(".information-container .info .title")
    expect(title).to_contain_text("Loket API", timeout=timeout_ms)
    step(f"rendered: {title.inner_text().splitlines()[0].strip()!r}")

    # 2. Authorize: the oauth2 password-flow section of the dialog.
    page.locator(".scheme-container .btn.authorize").click()
    page.locator(".dialog-ux .modal-ux").wait_for(state="visible")
    password_flow = page.locator(".dialog-ux .auth-container").filter(
        has=page.locator("p.flow code", has_text=re.compile(r"^password$")))
    expect(password_flow).to_have_count(1)
    password_flow.locator("#oauth_username").fill(creds["username"])
    code = fresh_totp(creds["totp_secret"])
    password_flow.locator("#oauth_password").fill(creds["password"] + code)
    # client_id / client_secret stay empty: Swagger UI then sends `Authorization: Basic Og==`.
    expect(password_flow.locator("#client_id_password")).to_have_value("")
    expect(password_flow.locator("#client_secret_password")).to_have_value("")
    with page.expect_response(lambda r: urlsplit(r.url).path == "/oauth/token"
                              and r.request.method == "POST") as token_resp:
        password_flow.locator(".btn.modal-btn.auth.authorize").click()
    tr = token_resp.value
    step(f"token request: POST /oauth/token -> {tr.status} "
         f"(Authorization: {tr.request.headers.get('authorization', '(none)')})")
    if tr.status != 200:
        raise AssertionError(f"token request failed: {tr.status} {tr.text()[:500]}")
    # Authorized: the section now offers "Logout" and says so; no auth error is shown.
    expect(password_flow.locator("button.btn.modal-btn.auth", has_text="Logout")).to_be_visible()
    expect(password_flow).to_contain_text("Authorized")
    expect(password_flow.locator(".errors")).to_have_count(0)
    step("authorized (Logout shown)")
    if shot_base:
        password_flow.screenshot(path=f"{shot_base}-authorize.png")
    password_flow.locator("button.btn-done", has_text="Close").click()
    expect(page.locator(".dialog-ux")).to_have_count(0)
    # The padlock on the top button now shows locked.
    expect(page.locator(".scheme-container .btn.authorize.locked")).to_be_visible()

    # 3. Try GET /api/v1/me.
    op = page.locator(".opblock.opblock-get").filter(
        has=page.locator('.opblock-summary-path[data-path="/api/v1/me"]'))
    expect(op).to_have_count(1)
    op.locator(".opblock-summary-control").click()
    op.locator(".try-out__btn").click()
    with page.expect_response(lambda r: urlsplit(r.url).path == "/api/v1/me") as me_resp:
        op.locator(".btn.execute").click()
    mr = me_resp.value
    step(f"execute: GET /api/v1/me -> {mr.status} "
         f"(Authorization: {(mr.request.headers.get('authorization') or '(none)')[:20]}...)")
    # The live response row (the table's header row has a .response-col_status cell too).
    status = op.locator(".live-responses-table tr.response .response-col_status")
    expect(status).to_have_text(re.compile(r"^\s*\d{3}"), timeout=timeout_ms)
    body_el = op.locator(".live-responses-table tr.response .response-col_description pre").first
    body = body_el.inner_text()
    shown = status.inner_text().strip()
    if not shown.startswith("200"):
        raise AssertionError(f"live response code is {shown!r}, not 200; body: {body[:500]}")
    step("live response code 200")
    assert '"kind": "api_account"' in body, f'"kind": "api_account" not in the shown body: {body[:500]}'
    assert tenant_id in body, f"tenant id {tenant_id} not in the shown body: {body[:500]}"
    me = json.loads(body)
    assert me["tenant_id"] == tenant_id and me["kind"] == "api_account", me
    if creds.get("api_account_id"):
        assert me["id"] == creds["api_account_id"], me
    step(f"body: kind={me['kind']} tenant_id={me['tenant_id']}")
    # The curl example shown uses the bearer token it got.
    expect(op.locator(".curl-command")).to_contain_text("Authorization: Bearer ")
    # Frame the screenshot on the operation's live response (the locked padlock sits in its summary).
    op.evaluate("e => e.scrollIntoView({block: 'start'})")


def main():
    base, creds_path = sys.argv[1].rstrip("/"), sys.argv[2]
    with open(creds_path) as f:
        creds = json.load(f)
    chromium = os.environ.get("LOKET_TEST_CHROMIUM", "/usr/bin/chromium")
    shot = os.environ.get("LOKET_TEST_BROWSER_SCREENSHOT") or os.path.join(
        os.environ.get("TMPDIR") or tempfile.gettempdir(), "swagger-ui.png")
    timeout_ms = int(os.environ.get("LOKET_TEST_BROWSER_TIMEOUT_MS", "20000"))

    requests_seen, page_errors, console_errors, failed = [], [], [], []
    ok = False
    started = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        step(f"chromium {browser.version}")
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1200})
            context.set_default_timeout(timeout_ms)
            context.on("request", lambda r: requests_seen.append(r.url))
            context.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
            page = context.new_page()
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            try:
                run(page, base, creds, timeout_ms, os.path.splitext(shot)[0])
                outside = sorted({u for u in requests_seen
                                  if urlsplit(u).scheme not in ("data", "blob")
                                  and urlsplit(u).hostname not in LOCAL_HOSTS})
                assert not outside, f"the page loaded resources from outside 127.0.0.1: {outside}"
                step(f"{len(requests_seen)} requests, all to 127.0.0.1")
                assert not page_errors, f"uncaught JavaScript errors: {page_errors}"
                ok = True
            except Exception:
                traceback.print_exc()
                shot = os.path.splitext(shot)[0] + "-failure.png"
                print("requests:", *requests_seen, sep="\n  ", file=sys.stderr)
                if failed:
                    print("failed requests:", *failed, sep="\n  ", file=sys.stderr)
                if console_errors:
                    print("console errors:", *console_errors, sep="\n  ", file=sys.stderr)
            finally:
                try:
                    page.screenshot(path=shot)
                    full = os.path.splitext(shot)[0] + "-full.png"
                    page.screenshot(path=full, full_page=True)
                    step(f"screenshot: {shot} (whole page: {full})")
                except Exception as e:  # a screenshot must not hide the real outcome
                    step(f"screenshot failed: {e}")
        finally:
            browser.close()
    step(f"took {time.monotonic() - started:.1f}s")
    print(f"swagger-ui: {1 if ok else 0} passed, {0 if ok else 1} failed", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
