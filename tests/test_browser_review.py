"""The quarterly review and its charts rendered in Debian's chromium, on a generated quarter."""

import pytest

from conftest import PASSWORD
from test_browser_process import kb_cli

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_db_url(db_templates, tmp_path_factory):
    """SQLite only: the figures' SQL runs on both databases in test_review_figures; this is about the browser."""
    url = db_templates.copy("sqlite", tmp_path_factory.mktemp("live"))
    yield url
    db_templates.drop(url)


def test_review_renders_with_its_charts_and_links(page, live_server, built_kb, live_db_url):
    from playwright.sync_api import expect
    kb_cli(built_kb, live_db_url, "staff", "create", "boss", "--role", "admin", "--name", "陈主任")
    kb_cli(built_kb, live_db_url, "demo-data", "--quarter", "2026Q3", "--complaints", "60")
    page.goto(live_server + "/staff/")
    page.fill("#username", "boss")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(live_server + "/staff/report")
    page.select_option("#quarter", "2026Q3")  # the picker, not a free-text field
    page.click("form.inline button[type=submit]")
    expect(page.locator(".report h1")).to_have_text("投诉季度报告 2026Q3")
    charts = page.locator(".report img")
    expect(charts).to_have_count(5)
    # Every chart decoded by the browser (a broken data: image has no natural width).
    assert all(charts.nth(i).evaluate("img => img.complete && img.naturalWidth > 300") for i in range(5))
    breach = page.locator(".report table a[href^='/staff/complaints/']").first
    number = breach.inner_text()
    breach.click()
    expect(page).to_have_url(f"{live_server}/staff/complaints/{number}")
