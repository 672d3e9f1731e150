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
import urllib.request
from http.cookiejar import CookieJar

from scratch_server import OUT, PASSWORD, chromium, scratch_server, sign_in


def main() -> None:
    with scratch_server() as base:
        number = walk_through(base)
        photograph(base, number)


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
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        sign_in(page, base)
        page.goto(f"{base}/staff/complaints/{number}")
        page.screenshot(path=str(OUT / "desk-investigation.png"), full_page=True)
        page.goto(f"{base}/staff/complaints/{number}/report")
        page.screenshot(path=str(OUT / "desk-report.png"), full_page=True)
        page.goto(f"{base}/staff/tasks")
        page.screenshot(path=str(OUT / "desk-tasks.png"))
    print(f"Wrote desk-investigation.png, desk-report.png and desk-tasks.png to {OUT}")


if __name__ == "__main__":
    main()
