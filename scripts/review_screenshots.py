"""Screenshots of the quarterly review and the staff KPIs in the workspace, for operations/desk.md.

    .venv/bin/kb build && .venv/bin/python scripts/review_screenshots.py

Fills a scratch SQLite database with a generated quarter (`kb demo-data`, with a handler or two per team
so the KPIs have people), runs `kb serve` on it and photographs /staff/report and /staff/kpis in Debian's
chromium (Playwright). Nothing of the live instance is touched.
"""

from __future__ import annotations

from scratch_server import OUT, chromium, scratch_server, sign_in

QUARTER = "2026Q3"
STAFF = (["admin", "--role", "admin", "--name", "陈主任"],
         ["wang", "--team", "facilities", "--name", "王工"], ["li", "--team", "facilities", "--name", "李师傅"],
         ["zhao", "--team", "it", "--name", "赵工"], ["qian", "--team", "hr-desk", "--name", "钱专员"],
         ["sun", "--team", "canteen", "--name", "孙经理"], ["zhou", "--team", "finance", "--name", "周会计"],
         ["wu", "--team", "relations", "--name", "吴专员"])


def main() -> None:
    with scratch_server(STAFF, prepare=[["demo-data", "--quarter", QUARTER, "--complaints", "400"]]) as base:
        photograph(base)


def photograph(base: str) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 2400})
        sign_in(page, base)
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
    print(f"Wrote review.png, review-limits.png and review-kpis.png to {OUT}")


if __name__ == "__main__":
    main()
