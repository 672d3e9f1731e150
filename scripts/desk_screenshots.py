"""Screenshots of the investigation in the workspace, for operations/desk.md.

    .venv/bin/kb build && .venv/bin/python scripts/desk_screenshots.py

Runs `kb serve` on a scratch SQLite database, walks one complaint through the
investigation with the staff API (who it is about, a conflict of interest, a
step, a task for another team, the outcome with a promised repair) and
photographs the workspace pages in Debian's chromium (Playwright). Nothing of
the live instance is touched.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "screenshots"
PASSWORD = "screenshot-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    kb = Path(sys.executable).with_name("kb")
    scratch = Path(tempfile.mkdtemp(prefix="kb-shots-"))
    env = dict(os.environ, KB_CONFIG=str(ROOT / "kb.yml"), KB_DATABASE_URL=f"sqlite:///{scratch / 'c.db'}",
               KB_STAFF_PASSWORD=PASSWORD, KB_RATELIMIT_ENABLED="0")
    for args in (["admin", "--role", "admin", "--name", "陈主任"],
                 ["wang", "--team", "facilities", "--name", "王工", "--department", "admin"],
                 ["li", "--team", "facilities", "--name", "李师傅", "--department", "production"],
                 ["zhao", "--team", "it", "--name", "赵工"]):
        subprocess.run([str(kb), "staff", "create", *args], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([str(kb), "serve", "--port", str(port), "--no-notifications"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/api/v1/meta", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        number = walk_through(base)
        photograph(base, number)
    finally:
        server.terminate()
        server.wait(timeout=20)


def walk_through(base: str) -> str:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def call(path: str, body: dict | None = None, token: str | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(base + path, data=data, method="POST" if body is not None else "GET",
                                     headers={"Content-Type": "application/json", **({"X-CSRFToken": token}
                                                                                      if token else {})})
        return json.loads(opener.open(req, timeout=30).read())

    got = call("/api/v1/complaints", {
        "category": "facilities", "description": "B 座 3 楼茶水间的饮水机漏水一周了，地面湿滑，已经有同事差点滑倒。报修两次，行政部的人都说等配件。",
        "request": "尽快修好，修好前放警示牌", "occurred_at": dt.date.today().isoformat(), "location": "B 座 3 楼茶水间",
        "about_department": "admin", "about_role": "报修窗口"})
    token = call("/api/v1/staff/login", {"username": "admin", "password": PASSWORD})["csrf_token"]
    number = got["number"]
    for action, body in (("assign", {"handler": "li"}), ("status", {"status": "assessed"}),
                         ("status", {"status": "investigating"}), ("step", {"step": "verify"}),
                         ("task", {"team": "it", "text": "调出 B 座 3 楼茶水间近两周的报修工单记录",
                                   "due_date": (dt.date.today() + dt.timedelta(days=2)).isoformat()}),
                         ("responsibility", {"responsibility": "own"}),
                         ("outcome", {"solutions": ["repair", "apology"], "promise_text": "更换饮水机进水阀",
                                      "promise_date": (dt.date.today() + dt.timedelta(days=5)).isoformat()}),
                         ("response", {"basis": "查看了报修工单和现场", "result": "已关闭进水阀并放置警示牌，配件已下单",
                                       "followup": "配件到货当天更换，之后每月巡检"})):
        call(f"/api/v1/staff/complaints/{number}/{action}", body, token)
    return number


def photograph(base: str, number: str) -> None:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        page.goto(base + "/staff/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/staff/complaints/{number}")
        page.screenshot(path=str(OUT / "desk-investigation.png"), full_page=True)
        page.goto(f"{base}/staff/complaints/{number}/report")
        page.screenshot(path=str(OUT / "desk-report.png"), full_page=True)
        page.goto(f"{base}/staff/tasks")
        page.screenshot(path=str(OUT / "desk-tasks.png"))
        browser.close()
    print(f"Wrote desk-investigation.png, desk-report.png and desk-tasks.png to {OUT}")


if __name__ == "__main__":
    main()
