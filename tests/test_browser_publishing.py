"""An admin approves an article in chromium; `kb serve`'s own worker rebuilds the site and the page follows."""

import re

import pytest
from conftest import PASSWORD, start_kb_serve, stop_kb_serve
from test_browser_process import kb_cli

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the queue on both: tests/test_publishing.py
def test_an_approved_article_is_built_by_the_worker_and_the_page_follows(page, browser, kb_tree, db_url, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    from kb_builder.build import build
    from kb_builder.config import load_config
    build(load_config(kb_tree / "kb.yml"))
    kb_cli(kb_tree, db_url, "staff", "create", "hr", "--role", "admin")
    kb_cli(kb_tree, db_url, "staff", "create", "liu", "--role", "handler", "--team", "facilities")
    with open(tmp_path / "serve.log", "w") as log:
        proc, url = start_kb_serve(kb_tree / "kb.yml", db_url, output=log, notifications=True,
                                       start_seconds=240)
        try:
            # A resolved complaint, through the public and the staff API.
            api = browser.new_context().request
            number = api.post(url + "/api/v1/complaints", data={
                "category": "facilities", "description": "四号楼电梯按钮失灵，按了没反应。我是周晓梅",
                "request": "尽快修好", "occurred_at": "2026-11-20", "location": "四号楼",
                "identity": {"name": "周晓梅"}}).json()["number"]
            token = api.post(url + "/api/v1/staff/login", data={"username": "liu", "password": PASSWORD}).json()["csrf_token"]
            for action, body in [("status", {"status": "assessed"}), ("status", {"status": "investigating"}),
                                 ("response", {"text": "物业更换了电梯的按钮面板，已恢复正常。"}),
                                 ("status", {"status": "resolved"})]:
                res = api.post(f"{url}/api/v1/staff/complaints/{number}/{action}", data=body,
                               headers={"X-CSRFToken": token})
                assert res.ok, res.text()

            page.goto(url + "/staff/?lang=en")
            page.fill("#username", "hr")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.goto(f"{url}/staff/complaints/{number}/article")
            expect(page.locator("#placeholder-warning")).to_contain_text("[姓名]")
            page.fill("#title", "电梯按钮失灵怎么办")
            page.fill("#body", re.sub(r"。?我是\[姓名\]", "", page.input_value("#body")))
            page.click("#approve")
            expect(page.locator("p.flash-ok", has_text="Approved")).to_contain_text("Approved: the site is being rebuilt")
            expect(page.locator("#placeholder-warning")).to_have_count(0)
            # The page refreshes itself while queued and building, until the worker is done.
            expect(page.locator("#publication-status")).to_have_text("Published on the site", timeout=240_000)
            expect(page.locator("#builder-message")).to_contain_text("cases")
            page.goto(f"{url}/faq/facilities/{number.lower()}/")
            expect(page.locator("h1").first).to_contain_text("电梯按钮失灵怎么办")
            expect(page.locator("body")).not_to_contain_text("周晓梅")
        finally:
            stop_kb_serve(proc)
