"""Screenshots of the form in Traditional Chinese and English, and of the workspace on a phone, for the README.

    .venv/bin/kb build && .venv/bin/python scripts/language_screenshots.py

The same scratch server as desk_screenshots.py (a throwaway SQLite database,
one complaint walked through by the staff API); the browser's language picks
the site's and the workspace's, as a visitor's would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from desk_screenshots import OUT, PASSWORD, ROOT, free_port, walk_through  # noqa: E402


def photograph(base: str) -> None:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        for locale, name in (("zh-TW", "form-zh-hant.png"), ("en-GB", "form-en.png")):
            page = browser.new_page(locale=locale, viewport={"width": 1100, "height": 1300})
            page.goto(base + "/complaint/")
            page.fill("#kb-description", "饮水机坏了，没有热水" if locale != "en-GB" else "The water dispenser is broken")
            page.wait_for_timeout(1500)  # the suggestions
            page.screenshot(path=str(OUT / name))
            page.close()
        phone = browser.new_page(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
                                 has_touch=True, device_scale_factor=2)
        phone.goto(base + "/staff/login")
        phone.fill("input[name=username]", "admin")
        phone.fill("input[name=password]", PASSWORD)
        phone.click("button[type=submit]")
        phone.goto(base + "/staff/?status=all")
        phone.screenshot(path=str(OUT / "workspace-phone.png"))
        browser.close()


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
        walk_through(base)
        photograph(base)
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
