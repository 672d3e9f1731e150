"""A throwaway `kb serve` for the screenshot scripts: scratch SQLite database, staff accounts, a browser.

    with scratch_server(STAFF, prepare=[["demo-data", ...]]) as base:
        with chromium() as browser:
            page = browser.new_page(); sign_in(page, base, "admin")

Each script photographs its own pages; the server, its accounts and the signed-in browser were
written three times (desk, review, languages) before they lived here. Nothing of the live instance
is touched: the database is a new file in a temporary folder, notifications are off.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "screenshots"
PASSWORD = "screenshot-password-1"
# The accounts most pictures need: an admin and handlers of two teams (departments for the conflict rules).
STAFF: tuple[list[str], ...] = (
    ["admin", "--role", "admin", "--name", "陈主任"],
    ["wang", "--team", "facilities", "--name", "王工", "--department", "admin"],
    ["li", "--team", "facilities", "--name", "李师傅", "--department", "production"],
    ["zhao", "--team", "it", "--name", "赵工"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def scratch_server(staff: Sequence[list[str]] = STAFF, prepare: Sequence[list[str]] = ()) -> Iterator[str]:
    """`kb serve` on a new SQLite file with `staff` created and each `kb` command of `prepare` run: its base URL."""
    kb = Path(sys.executable).with_name("kb")
    scratch = Path(tempfile.mkdtemp(prefix="kb-shots-"))
    env = dict(os.environ, KB_CONFIG=str(ROOT / "kb.yml"), KB_DATABASE_URL=f"sqlite:///{scratch / 'c.db'}",
               KB_STAFF_PASSWORD=PASSWORD, KB_RATELIMIT_ENABLED="0")
    for args in staff:
        subprocess.run([str(kb), "staff", "create", *args], env=env, check=True, capture_output=True)
    for args in prepare:
        subprocess.run([str(kb), *args], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([str(kb), "serve", "--port", str(port), "--no-notifications"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # a busy 2-core machine takes its time to load the encoder
        while True:
            try:
                urllib.request.urlopen(base + "/api/v1/meta", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit(f"kb serve stopped (exit {server.returncode}); did `kb build` run?") from None
                if time.monotonic() > deadline:
                    raise SystemExit(f"kb serve did not answer on {base} within 300 s") from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


@contextmanager
def chromium():
    """Debian's chromium through Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page, base: str, username: str = "admin") -> None:
    page.goto(base + "/staff/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
