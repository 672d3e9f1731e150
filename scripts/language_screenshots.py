"""Screenshots of the form in Traditional Chinese and English, and of the workspace on a phone, for the README.

    .venv/bin/kb build && .venv/bin/python scripts/language_screenshots.py

The scratch server of scratch_server.py (a throwaway SQLite database,
one complaint walked through by the staff API); the browser's language picks
the site's and the workspace's, as a visitor's would.
"""

from __future__ import annotations

from desk_screenshots import walk_through
from scratch_server import OUT, chromium, scratch_server, sign_in


def photograph(base: str) -> None:
    with chromium() as browser:
        for locale, name in (("zh-TW", "form-zh-hant.png"), ("en-GB", "form-en.png")):
            page = browser.new_page(locale=locale, viewport={"width": 1100, "height": 1300})
            page.goto(base + "/complaint/")
            page.fill("#kb-description", "饮水机坏了，没有热水" if locale != "en-GB" else "The water dispenser is broken")
            page.wait_for_timeout(1500)  # the suggestions
            page.screenshot(path=str(OUT / name))
            page.close()
        phone = browser.new_page(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
                                 has_touch=True, device_scale_factor=2)
        sign_in(phone, base)
        phone.goto(base + "/staff/?status=all")
        phone.screenshot(path=str(OUT / "workspace-phone.png"))


def main() -> None:
    with scratch_server() as base:
        walk_through(base)
        photograph(base)


if __name__ == "__main__":
    main()
