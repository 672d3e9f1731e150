"""An admin enters next year's holidays in the workspace, in Debian's chromium; a handler is not told."""

import datetime as dt

import pytest
from conftest import PASSWORD
from test_browser_process import kb_cli
from test_sla import first_uncovered_year

pytestmark = [pytest.mark.browser, pytest.mark.backend("postgresql")]


def log_in(tab, base, username):
    tab.goto(base + "/staff/?lang=en")
    tab.fill("#username", username)
    tab.fill("#password", PASSWORD)
    tab.click("button[type=submit]")


def test_an_admin_enters_holidays_and_the_warning_goes(page, browser, live_server, built_kb, live_db_url):  # noqa: F811
    from playwright.sync_api import expect

    from kb_builder.official_calendar import CALENDAR_HORIZON_DAYS
    kb_cli(built_kb, live_db_url, "staff", "create", "hr", "--role", "admin")
    kb_cli(built_kb, live_db_url, "staff", "create", "fac", "--role", "handler", "--team", "facilities")
    gap = first_uncovered_year()
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    warned = (today + dt.timedelta(days=CALENDAR_HORIZON_DAYS)).year >= gap  # as on this machine's date

    log_in(page, live_server, "hr")
    notice = page.locator("#calendar-notice")
    if warned:
        expect(notice).to_contain_text(f"The official holidays for {gap} are not known yet")
        notice.get_by_role("link", name="Holiday calendar").click()
    else:
        expect(notice).to_have_count(0)
        page.get_by_role("link", name="Holiday calendar").first.click()
    expect(page.locator("h1")).to_have_text("Holiday calendar")

    # A make-up workday on a weekday is refused, saying why.
    monday = next(dt.date(gap, 2, d) for d in range(1, 8) if dt.date(gap, 2, d).weekday() == 0)
    page.select_option("#kind", "workday")
    page.fill("#first", monday.isoformat())
    page.click("#calendar-add")
    expect(page.locator(".flash-error").last).to_contain_text(
        f"{monday.isoformat()} is a weekday, already worked: a make-up workday is a weekend day worked instead")
    expect(page.locator("#calendar-days")).to_have_count(0)

    # The week off, then the Saturday worked instead.
    page.select_option("#kind", "holiday")
    page.fill("#first", monday.isoformat())
    page.fill("#last", (monday + dt.timedelta(days=4)).isoformat())
    page.fill("#name", "Spring Festival")
    page.click("#calendar-add")
    expect(page.locator(".flash-ok")).to_contain_text("Added 5 day(s)")
    saturday = monday - dt.timedelta(days=2)
    page.select_option("#kind", "workday")
    page.fill("#first", saturday.isoformat())
    page.fill("#name", "Make-up day")
    page.click("#calendar-add")
    rows = page.locator("#calendar-days tbody tr")
    expect(rows).to_have_count(6)
    expect(page.locator(f"#day-{saturday.isoformat()}")).to_contain_text("Make-up workday")
    expect(page.locator("#calendar-notice")).to_have_count(0)  # the year is covered now

    # A handler sees neither the warning nor the page.
    other = browser.new_context(locale="en-GB").new_page()
    log_in(other, live_server, "fac")
    expect(other.locator("#calendar-notice")).to_have_count(0)
    expect(other.get_by_role("link", name="Holiday calendar")).to_have_count(0)
    assert other.goto(live_server + "/staff/calendar").status == 403
    other.context.close()
