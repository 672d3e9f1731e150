"""Screenshots of the quarterly review and the staff KPIs in the workspace, for operations/desk.md.

    .venv/bin/kb build && .venv/bin/python scripts/review_screenshots.py

Fills a scratch SQLite database with a generated quarter (`kb demo-data`, with a handler or two per team
so the KPIs have people), runs `kb serve` on it and photographs /staff/report and /staff/kpis in Debian's
chromium (Playwright). Nothing of the live instance is touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from desk_screenshots import OUT, PASSWORD, ROOT, free_port

QUARTER = "2026Q3"
STAFF = (["admin", "--role", "admin", "--name", "陈主任"],
         ["wang", "--team", "facilities", "--name", "王工"], ["li", "--team", "facilities", "--name", "李师傅"],
         ["zhao", "--team", "it", "--name", "赵工"], ["qian", "--team", "hr-desk", "--name", "钱专员"],
         ["sun", "--team", "canteen", "--name", "孙经理"], ["zhou", "--team", "finance", "--name", "周会计"],
         ["wu", "--team", "relations", "--name", "吴专员"])


def main() -> None:
    kb = Path(sys.executable).with_name("kb")
    scratch = Path(tempfile.mkdtemp(prefix="kb-review-shots-"))
    env = dict(os.environ, KB_CONFIG=str(ROOT / "kb.yml"), KB_DATABASE_URL=f"sqlite:///{scratch / 'c.db'}",
               KB_STAFF_PASSWORD=PASSWORD, KB_RATELIMIT_ENABLED="0")
    for args in STAFF:
        subprocess.run([str(kb), "staff", "create", *args], env=env, check=True, capture_output=True)
    subprocess.run([str(kb), "demo-data", "--quarter", QUARTER, "--complaints", "400"], env=env, check=True,
                   capture_output=True)
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
        photograph(base)
    finally:
        server.terminate()
        server.wait(timeout=20)


def photograph(base: str) -> None:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page(viewport={"width": 1280, "height": 2400})
        page.goto(base + "/staff/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/staff/report?quarter={QUARTER}")
        page.wait_for_load_state("networkidle")
        assert page.locator(".report img").count() == 5, "the review's five charts"
        page.screenshot(path=str(OUT / "review.png"))  # the top: highlights, charts, counts, departments
        top = page.evaluate("() => [...document.querySelectorAll('.report h2')].find(h => h.textContent.trim() === "
                            "'时限').getBoundingClientRect().top + window.scrollY")
        page.screenshot(path=str(OUT / "review-limits.png"), clip={"x": 0, "y": top - 10, "width": 1280, "height": 1500},
                        full_page=True)  # every limit, and the first breaches with links to their complaints
        page.goto(f"{base}/staff/kpis?quarter={QUARTER}")
        page.screenshot(path=str(OUT / "review-kpis.png"), full_page=True)
        browser.close()
    print(f"Wrote review.png, review-limits.png and review-kpis.png to {OUT}")


if __name__ == "__main__":
    main()
