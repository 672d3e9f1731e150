"""Issue 23 points 2-6, the employee's side, in Debian's chromium: the form, the status page, articles, search.

One `kb serve` for the module (module_server, both databases); axe-core is
the copy axe-playwright-python ships. The site search runs on both of its
paths (the API's, and the static index under a plain web server).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.error
import urllib.request

import pytest
from conftest import PASSWORD, query_db
from test_i18n_browser import serious
from test_site_search import api_site, app, served, site_search  # noqa: F401  (fixtures used by name)

pytestmark = [pytest.mark.browser, pytest.mark.backend("postgresql")]

HOSTILE = '<img src=x onerror="window.__pwned=1">工资少发了五百元 & <b>加班费</b>'


@pytest.fixture
def context_for(browser):
    made = []

    def make(locale: str = "zh-CN"):
        context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


def post(server: str, path: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(server + path, method="POST", headers={"Content-Type": "application/json"},
                                 data=json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


# ---------------------------------------------------------------- point 2: one live line


@pytest.mark.parametrize("locale, some, none", [
    ("zh-CN", r"^有 \d 篇文章也许能解决$", "暂时没有匹配的文章"),
    ("en-GB", r"^(1 article|\d articles) may help$", "Nothing matches yet"),
])
def test_the_form_says_in_one_live_line_how_many_articles_may_help(context_for, live_server, locale, some, none):
    from playwright.sync_api import expect
    page = context_for(locale).new_page()
    page.goto(live_server + "/complaint/")
    live = page.locator("#kb-suggest-status")
    assert live.get_attribute("role") == "status" and live.get_attribute("aria-live") == "polite"
    # The list itself is no longer a live region: a screen reader would re-read every title at each keystroke.
    assert page.locator("#kb-suggestions").get_attribute("aria-live") is None
    page.locator("#kb-description").press_sequentially("饮水机坏了", delay=40)
    expect(page.locator("#kb-suggestion-list li").first).to_be_visible(timeout=10_000)
    expect(live).to_have_text(re.compile(some))
    count = page.locator("#kb-suggestion-list li").count()
    assert re.search(str(count), live.inner_text())
    page.locator("#kb-description").fill("qzxv wplk mrtz")
    expect(live).to_have_text(none, timeout=10_000)
    expect(page.locator("#kb-suggestion-list li")).to_have_count(0)
    assert serious(page) == []


# ------------------------------------------- point 3: what applies, and a date alone


def test_where_is_optional_where_the_category_makes_it_meaningless_and_a_date_stays_a_date(
        context_for, live_server, live_db_url):
    from playwright.sync_api import expect
    page = context_for("en-GB").new_page()
    page.goto(live_server + "/complaint/")
    expect(page.locator("#kb-category option[value=payroll]")).to_be_attached(timeout=10_000)
    location_label = page.locator("label[for=kb-location]")
    # Facilities: where matters (required, with its mark).
    page.select_option("#kb-category", "facilities")
    assert page.locator("#kb-location").evaluate("e => e.required")
    expect(location_label.locator(".kb-required")).to_be_visible()
    expect(location_label.locator(".kb-optional")).to_be_hidden()
    page.fill("#kb-description", "My overtime pay for November is missing")
    page.fill("#kb-request", "Pay it with the next salary")
    page.fill("#kb-occurred-at", "2026-11-20")
    page.click("#kb-submit")
    summary = page.locator("#kb-error-summary")
    expect(summary).to_contain_text("Where", timeout=10_000)
    assert page.locator("#kb-location").get_attribute("aria-invalid") == "true"
    # Payroll (kb.yml: optional: [location]): "(optional)" instead of the mark, and the API agrees.
    page.select_option("#kb-category", "payroll")
    expect(location_label.locator(".kb-optional")).to_have_text("(optional)")
    expect(location_label.locator(".kb-required")).to_be_hidden()
    assert not page.locator("#kb-location").evaluate("e => e.required")
    assert page.locator("#kb-request").evaluate("e => e.required")  # request stays required for payroll
    assert serious(page) == []
    page.click("#kb-submit")
    expect(page.locator("#kb-tracking-code-value")).to_be_visible(timeout=10_000)
    rows = query_db(live_db_url, "SELECT category, location, occurred_at, occurred_on FROM complaints")
    assert len(rows) == 1
    category, location, occurred_at, occurred_on = rows[0]
    assert (category, location, occurred_at) == ("payroll", "", None)  # no midnight invented
    assert str(occurred_on) == "2026-11-20"

    # The API (every front end goes through the desk's rules) enforces the same list.
    base = {"description": "工资少发了五百元", "occurred_at": "2026-11-20"}
    status, body = post(live_server, "/api/v1/complaints", {**base, "category": "facilities", "request": "修理"})
    assert status == 400 and {e["field"] for e in body["errors"]} == {"location"}
    status, body = post(live_server, "/api/v1/complaints", {**base, "category": "harassment"})
    assert status == 400 and {e["field"] for e in body["errors"]} == {"location"}  # request optional there
    status, body = post(live_server, "/api/v1/complaints", {**base, "category": "payroll"})
    assert status == 400 and {e["field"] for e in body["errors"]} == {"request"}
    status, _ = post(live_server, "/api/v1/complaints", {**base, "category": "payroll", "request": "补发"})
    assert status == 201
    # A full timestamp is still a moment, with its local date beside it.
    status, _ = post(live_server, "/api/v1/complaints", {**base, "category": "payroll", "request": "补发",
                                                          "occurred_at": "2026-11-20T23:30:00+08:00"})
    assert status == 201
    last = query_db(live_db_url, "SELECT occurred_at, occurred_on FROM complaints ORDER BY id DESC")[0]
    assert last[0] is not None and str(last[1]) == "2026-11-20"


# ------------------------------------------------------ point 4: the status page


def _staff(page, server: str, number: str) -> None:
    page.goto(server + "/staff/login")
    page.fill("#username", "boss")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(server + "/staff/")
    page.click(f"#queue tr[data-number='{number}'] a")


def test_the_status_page_shows_the_submission_the_open_question_first_worded_ratings_and_fresh_due_dates(
        context_for, live_server, built_kb, live_db_url):
    from playwright.sync_api import expect
    from test_i18n_browser import admin
    admin(built_kb, live_db_url)
    status, ack = post(live_server, "/api/v1/complaints", {
        "category": "payroll", "description": HOSTILE, "request": "补发 <script>alert(1)</script>",
        "occurred_at": "2026-11-20"})
    assert status == 201
    code, number = ack["tracking_code"], ack["number"]

    staff = context_for().new_page()
    _staff(staff, live_server, number)
    staff.fill("#message-text", "请提供 11 月的工资条截图 <i>谢谢</i>")
    staff.click("#form-message button[type=submit]")

    me = context_for().new_page()
    me.goto(live_server + "/status/#code=" + code)
    result = me.locator("#kb-status-result")
    expect(result).to_contain_text("已受理", timeout=10_000)
    # The handler's open question comes first, as text.
    first = result.locator(":scope > *").first
    assert first.get_attribute("id") == "kb-open-question"
    expect(first).to_contain_text("请提供 11 月的工资条截图 <i>谢谢</i>")
    me.click("#kb-answer-question")
    assert me.evaluate("document.activeElement.id") == "kb-reply-text"
    # What was submitted, escaped: the markup is shown as typed and never runs.
    submitted = me.locator("#kb-submitted")
    expect(submitted).to_contain_text(HOSTILE)
    expect(submitted).to_contain_text("补发 <script>alert(1)</script>")
    expect(submitted.locator("dd").filter(has_text="2026-11-20")).to_have_text("2026-11-20")  # a date, no 00:00
    assert result.locator("img, b, script, i").count() == 0
    assert me.evaluate("window.__pwned") is None
    expect(submitted).not_to_contain_text("在哪里")  # no location given (optional for payroll): no empty row
    assert serious(me) == []
    # Once answered, the question is no longer "open".
    me.fill("#kb-reply-text", "已上传")
    me.click("#kb-reply-form button[type=submit]")
    expect(me.locator("#kb-open-question")).to_have_count(0)

    def move(to: str, label: str) -> None:
        staff.select_option("#status-select", to)
        staff.click("#form-status button[type=submit]")
        expect(staff.locator("#status")).to_have_text(label)

    staff.reload()
    move("assessed", "已评估")
    move("investigating", "调查处理中")
    staff.fill("#response-text", "已核实，下月补发。")
    staff.click("#form-response button[type=submit]")
    staff.click("#form-end-investigation button[type=submit]")
    move("resolved", "已反馈结果")

    me.fill("#kb-tracking-code", code)
    me.click("#kb-status-form button[type=submit]")
    expect(result).to_contain_text("已核实，下月补发", timeout=10_000)
    # Resolved: the result was fed back, so no "result due" is shown as if still running.
    expect(me.locator("dd[data-field=result-due]")).to_have_count(0)
    labels = me.locator("#kb-rating-form .kb-rating label").all_inner_texts()
    assert [t.strip() for t in labels] == ["非常不满意", "不满意", "一般", "满意", "非常满意"]
    me.check("#kb-score-2")
    me.click("#kb-rating-form button[type=submit]")
    # A low rating reopens it: a new result deadline, counted from the reopening, shows without a reload.
    expect(result).to_contain_text("重新处理", timeout=10_000)
    expect(me.locator("dd[data-field=rating]")).to_have_text("不满意 (2 / 5)")
    due = me.locator("dd[data-field=result-due]")
    expect(due).to_have_count(1)
    stored = query_db(live_db_url, "SELECT result_due_at FROM complaints")[0][0]
    stored = stored if isinstance(stored, dt.datetime) else dt.datetime.fromisoformat(str(stored))
    if stored.tzinfo is None:
        stored = stored.replace(tzinfo=dt.UTC)
    from zoneinfo import ZoneInfo
    assert due.inner_text() == stored.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert stored > dt.datetime.now(dt.UTC)
    assert serious(me) == []


# ------------------------------------------ point 5: articles and the home page


def test_article_pages_have_breadcrumbs_related_articles_and_a_date_and_home_lists_helpful_ones(
        context_for, static_site):
    from playwright.sync_api import expect
    page = context_for().new_page()
    page.goto(static_site + "/faq/shuttle/shuttle-late/")
    crumbs = page.locator("nav.kb-breadcrumbs")
    assert crumbs.get_attribute("aria-label") == "所在位置"
    hrefs = crumbs.locator("a").evaluate_all("els => els.map(e => e.href)")
    assert [h.removeprefix(static_site) for h in hrefs] == ["/", "/faq/", "/faq/shuttle/"]
    expect(crumbs.locator("a").last).to_have_text("班车")
    expect(page.locator(".kb-meta time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    expect(page.locator(".kb-meta")).to_contain_text("最后更新")
    related = page.locator("h2.kb-related-title + ul a")
    expect(related).to_have_count(3)
    targets = related.evaluate_all("els => els.map(e => e.href)")
    assert not any("shuttle-late" in t for t in targets)  # never the page itself
    assert sum("/faq/shuttle/" in t for t in targets) >= 2  # the same category's nearest first
    for target in targets:  # each one a published page
        assert page.request.get(target).ok
    assert serious(page) == []

    page.goto(static_site + "/")
    helpful = page.locator("#kb-helpful + ul a")
    assert [h.rstrip("/").rsplit("/", 1)[-1] for h in helpful.evaluate_all("els => els.map(e => e.href)")] == [
        "password-reset", "reimbursement-delayed", "shuttle-late", "salary-paid-late"]  # kb.yml's order
    categories = page.locator("#kb-categories + ul li")
    expect(categories.first).to_contain_text("设施报修")  # kb.yml's name in the visitor's language (zh-CN here)
    assert categories.count() >= 5
    assert serious(page) == []


# ----------------------------------------------------------- point 6: site search


@pytest.fixture(params=["static", "api"])
def site(request):
    return request.param, request.getfixturevalue("static_site" if request.param == "static" else "api_site")


def _results(page):
    return page.locator(".md-search-result__item")


def test_search_marks_every_query_word_strikes_none_and_leaves_the_tags_page_out(context_for, site):
    _, url = site
    page = context_for().new_page()
    pages, _ = site_search(page, url, "饮水机 坏了")
    assert pages[0].endswith("/water-dispenser-not-working/")
    assert not any(p.endswith("/faq/tags/") for p in pages)
    best = _results(page).first
    assert best.locator(".md-search-result__terms, del").count() == 0  # no struck-through "missing" word
    marked = set(best.locator("mark").all_inner_texts())
    assert {"饮水机", "坏"} <= marked, marked
    assert best.locator("mark").evaluate_all("els => els.every(e => e.hasAttribute('data-md-highlight'))")

    page = context_for().new_page()
    site_search(page, url, "install software laptop")
    marked = {m.lower() for m in _results(page).first.locator("mark").all_inner_texts()}
    assert {"install", "software", "laptop"} <= marked, marked


def test_search_an_english_stop_word_matches_nothing(context_for, site):
    from playwright.sync_api import expect
    _, url = site
    page = context_for("en-GB").new_page()
    page.goto(url + "/")
    page.wait_for_load_state("networkidle")
    page.locator("label.kb-search-button").click()
    search = page.locator("input.md-search__input")
    search.fill("not")
    search.press("End")
    expect(page.locator(".md-search-result__meta")).to_be_visible(timeout=15_000)
    page.wait_for_timeout(800)  # the worker's answer to the last keystroke
    expect(_results(page)).to_have_count(0)
    # A real question with "not" in it still finds its article.
    pages, _ = site_search(page, url, "vpn not working")
    assert any(p.endswith("/vpn-cannot-connect/") for p in pages[:3]), pages[:5]
