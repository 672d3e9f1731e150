"""The three languages and the workspace's small things in Debian's chromium, with axe-core on the pages.

One `kb serve` for the module (module_server); axe-core is the copy the
axe-playwright-python package ships (never a CDN).
"""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.backend("sqlite")]

GOOD = {"category": "facilities", "description": "三楼饮水机坏了一周，没有热水", "request": "请尽快修理",
        "occurred_at": "2026-11-20", "location": "三楼茶水间"}


@pytest.fixture
def context_for(browser):
    made = []

    def make(locale: str = "zh-CN", **options):
        context = browser.new_context(locale=locale, viewport=options.pop("viewport", {"width": 1280, "height": 900}),
                                      **options)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


def offline(page, server: str) -> list[str]:
    """Refuse every request that leaves the server, and list them: the product must not need them."""
    left: list[str] = []

    def route(r):
        if r.request.url.startswith(server) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            left.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return left


def admin(built_kb, live_db_url, name="boss"):
    from test_browser_process import kb_cli
    kb_cli(built_kb, live_db_url, "staff", "create", name, "--role", "admin", "--name", "Boss")


def log_in(page, server: str, name="boss"):
    page.goto(server + "/staff/login")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def submit(server: str) -> dict:
    req = urllib.request.Request(server + "/api/v1/complaints", method="POST",
                                 headers={"Content-Type": "application/json"}, data=json.dumps(GOOD).encode())
    return json.loads(urllib.request.urlopen(req).read())


def serious(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe
    # Contrast is judged on the page at rest: a message still fading in reads as too light (seen once in CI).
    for _ in range(100):  # (an arrow function, not a string: the pages' CSP forbids eval)
        if page.evaluate("() => document.getAnimations().every(a => a.playState !== 'running')"):
            break
        page.wait_for_timeout(100)
    results = Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])}: {[n.get('target') for n in v['nodes']][:3]})"
            for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]


def test_api_doc_loads_its_script_from_the_product(context_for, live_server):
    page = context_for().new_page()
    left = offline(page, live_server)
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(live_server + "/api/doc/")
    assert page.url.endswith("/api/doc/redoc/")
    from playwright.sync_api import expect
    expect(page.locator("h1").first).to_contain_text("Employee-complaint knowledge base API", timeout=20_000)
    expect(page.get_by_text("/api/v1/complaints").first).to_be_attached()
    # ReDoc's own "API docs by Redocly" logo is the one thing it asks elsewhere for; the CSP refuses it, and
    # nothing of the page depends on it.
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert set(left) <= {logo} and all(logo in message for message in blocked)


def test_workspace_switcher_in_three_languages_keeps_the_filters(context_for, live_server, built_kb, live_db_url):
    from playwright.sync_api import expect
    admin(built_kb, live_db_url)
    submit(live_server)
    page = context_for("en-GB").new_page()
    log_in(page, live_server)
    assert page.locator("html").get_attribute("lang") == "en"  # the browser's language first
    page.goto(live_server + "/staff/?status=all&level=1&mine=1")
    seen = {}
    for code, queue in (("zh-Hant", "投訴佇列"), ("zh-Hans", "投诉队列"), ("en", "Queue")):
        page.click(f"nav.languages a[hreflang={code}]")
        assert page.locator("html").get_attribute("lang") == code
        expect(page.locator("h1")).to_have_text(queue)
        assert "status=all" in page.url and "level=1" in page.url and "mine=1" in page.url
        assert page.locator("#f-mine").is_checked()
        seen[code] = page.locator("#f-status option[value=received]").inner_text()
    assert seen == {"zh-Hant": "已受理", "zh-Hans": "已受理", "en": "Received"}
    page.goto(live_server + "/staff/")  # the choice is remembered, whatever the browser says
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("link[rel=icon]").count() == 1


def test_workspace_status_step_is_chosen_not_preselected_and_errors_look_like_the_workspace(
        context_for, live_server, built_kb, live_db_url):
    from playwright.sync_api import expect
    admin(built_kb, live_db_url)
    ack = submit(live_server)
    page = context_for("zh-TW").new_page()
    log_in(page, live_server)
    page.goto(live_server + f"/staff/complaints/{ack['number']}")
    select = page.locator("#status-select")
    assert select.evaluate("s => s.value") == ""  # nothing chosen for the handler
    select.locator("xpath=ancestor::form").locator("button[type=submit]").click()
    assert select.evaluate("s => s.validity.valueMissing")  # the browser asks for a step first
    expect(page.locator("#status")).to_have_text("已受理")
    res = page.goto(live_server + "/staff/no-such-page")
    assert res.status == 404
    expect(page.locator("#error")).to_have_text("工作臺中沒有這個頁面。")
    assert page.locator("header .brand").count() == 1  # the workspace's header, its style
    res = page.goto(live_server + "/staff/complaints/TS-2026-999999")
    assert res.status == 404 and "TS-2026-999999" in page.locator("#error").inner_text()


def test_phone_workspace_has_no_horizontal_scrolling(context_for, live_server, built_kb, live_db_url):
    admin(built_kb, live_db_url)
    submit(live_server)
    page = context_for("zh-CN", viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True).new_page()
    log_in(page, live_server)
    for path in ("/staff/", "/staff/search"):
        page.goto(live_server + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, (path, width)


def test_article_pages_say_their_language_and_english_visitors_get_english_first(context_for, live_server):
    from playwright.sync_api import expect
    page = context_for("en-US").new_page()
    page.goto(live_server + "/faq/facilities/")
    links = page.locator(".md-content ul li > a[hreflang]")
    languages = [links.nth(i).get_attribute("hreflang") for i in range(links.count())]
    assert "en" in languages and "zh-Hans" in languages
    first_chinese = next(i for i, lang in enumerate(languages) if lang != "en")
    assert all(lang == "en" for lang in languages[:first_chinese])
    assert all(lang != "en" for lang in languages[first_chinese:])  # English first for an English visitor
    english = links.nth(0).get_attribute("href")
    chinese = links.nth(first_chinese).get_attribute("href")
    page.goto(live_server + "/faq/facilities/" + english)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#kb-language-note").count() == 0
    page.goto(live_server + "/faq/facilities/" + chinese)
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    expect(page.locator("#kb-language-note")).to_have_text("This article exists only in Chinese.")
    # The switcher: remembered in this browser, and the order follows it.
    page.select_option("#kb-language", "zh-Hant")
    expect(page.locator("#kb-language-note")).to_have_count(0)
    page.goto(live_server + "/faq/facilities/")
    assert page.locator("#kb-language").input_value() == "zh-Hant"
    assert page.locator(".md-content ul li > a[hreflang]").first.get_attribute("hreflang") != "en"


@pytest.mark.parametrize(("locale", "words"), [
    ("en-GB", {"tabs": ["Home", "FAQ", "Procedures", "Submit a complaint", "Check a complaint", "Tags"],
               "search": "Search", "top": "Back to top", "site": "Employee Help Center", "h1": "Facilities and repairs",
               "toc": "Table of contents", "results": r"^(\d+ matching documents|No matching documents)$"}),
    ("zh-TW", {"tabs": ["首頁", "常見問題", "辦事指南", "提交投訴", "查詢進度", "標籤"],
               "search": "搜尋", "top": "回到頂部", "site": "員工服務知識庫", "h1": "設施報修",
               "toc": "目錄", "results": r"^(找到 \d+ 個符合條件的結果|沒有找到符合條件的結果)$"}),
])
def test_the_theme_and_the_nav_speak_the_visitors_language(context_for, live_server, locale, words):
    """The theme's own words (from its own translations), the nav, titles and category names, per visitor.

    The site is built once, in Simplified Chinese; an article keeps its own language (html lang) while the
    frame around it is the visitor's (and says so).
    """
    from playwright.sync_api import expect
    page = context_for(locale).new_page()
    page.goto(live_server + "/faq/facilities/")
    expect(page.locator(".md-tabs__link")).to_have_text(words["tabs"])
    assert page.locator("input.md-search__input").get_attribute("placeholder") == words["search"]
    assert page.locator(".md-content h1").inner_text() == words["h1"]  # kb.yml's name for the category
    assert page.title() == f"{words['h1']} - {words['site']}"
    assert page.locator(".md-header").get_attribute("lang") == ("en" if locale == "en-GB" else "zh-Hant")
    assert words["top"] in page.locator(".md-top").inner_text()
    article = page.locator(".md-content ul li > a[hreflang='zh-Hans']").first.get_attribute("href")
    page.goto(live_server + "/faq/facilities/" + article)
    assert page.locator("html").get_attribute("lang") == "zh-Hans"  # the article's own language
    assert page.locator(".md-sidebar--secondary .md-nav__title").inner_text().strip() == words["toc"]
    # Material's search words come from #__config, which language.js sets before the theme reads it.
    page.wait_for_load_state("networkidle")
    search = page.locator("input.md-search__input")
    search.click()
    search.fill("vpn")
    search.press("End")
    expect(page.locator(".md-search-result__meta")).to_have_text(re.compile(words["results"]), timeout=15_000)
    # Hand-written pages say each sentence in the visitor's language only (the other one hidden).
    page.goto(live_server + "/complaint/")
    # (The build adds a Traditional copy of each Simplified sentence: OpenCC, as the API's words.)
    shown, hidden = ("en", ["zh", "zh-hant"]) if locale == "en-GB" else ("zh-hant", ["zh", "en"])
    expect(page.locator(f"p.kb-{shown}").first).to_be_visible()
    for other in hidden:
        expect(page.locator(f"p.kb-{other}").first).to_be_hidden()
        expect(page.locator(f"#kb-disclosure span.kb-{other}").first).to_be_hidden()
    if locale == "zh-TW":
        expect(page.locator("p.kb-zh-hant").first).to_contain_text("描述你遇到的問題")
    # Switching back to Simplified shows the words as built.
    page.select_option("#kb-language", "zh-Hans")
    expect(page.locator(".md-tabs__link").first).to_have_text("首页")
    expect(page.locator("p.kb-zh").first).to_be_visible()
    expect(page.locator("p.kb-en").first).to_be_hidden()
    expect(page.locator("p.kb-zh-hant").first).to_be_hidden()


def test_the_form_gets_api_errors_in_the_chosen_language(context_for, live_server):
    page = context_for("zh-CN").new_page()
    page.goto(live_server + "/complaint/")
    page.select_option("#kb-language", "en")
    answer = page.evaluate("""async () => {
        const r = await fetch('/api/v1/complaints', {method: 'POST', body: '{}', headers: {
            'Content-Type': 'application/json', 'Accept-Language': window.kbLanguage()}});
        return [r.headers.get('Content-Language'), (await r.json()).error];
    }""")
    assert answer == ["en", "Some fields need fixing"]


@pytest.mark.parametrize("path", ["/staff/", "/staff/login", "/staff/complaints/{number}"])
def test_axe_finds_no_serious_violation_in_the_workspace(context_for, live_server, built_kb, live_db_url, path):
    admin(built_kb, live_db_url)
    ack = submit(live_server)
    page = context_for("zh-CN").new_page()
    left = offline(page, live_server)
    if path != "/staff/login":
        log_in(page, live_server)
    page.goto(live_server + path.format(number=ack["number"]))
    assert serious(page) == [] and left == []


@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
def test_axe_finds_no_serious_violation_on_the_site(context_for, live_server, locale):
    page = context_for(locale).new_page()
    left = offline(page, live_server)
    page.goto(live_server + "/faq/facilities/")
    article = page.locator(".md-content ul li > a[hreflang]").first.get_attribute("href")
    found = {}
    for path in ("/", "/faq/facilities/", "/faq/facilities/" + article, "/complaint/", "/status/"):
        page.goto(live_server + path)
        found[path] = serious(page)
    assert found == {path: [] for path in found}, json.dumps(found, ensure_ascii=False, indent=1)
    assert left == []


@pytest.mark.parametrize(("locale", "label", "category", "placeholder"), [
    ("zh-TW", "發生了什麼？", "設施報修", "例如：儘快修好，或換一臺"),
    ("en-GB", "What happened?", "Facilities and repairs", "e.g. Repair it this week"),
])
def test_the_form_speaks_the_browsers_language(context_for, live_server, locale, label, category, placeholder):
    from playwright.sync_api import expect
    page = context_for(locale).new_page()
    page.goto(live_server + "/complaint/")
    expect(page.locator("label[for=kb-description] [data-kb-t]")).to_have_text(label)
    expect(page.locator("#kb-category option[value=facilities]")).to_have_text(category)  # the API's label
    assert page.locator("#kb-request").get_attribute("placeholder") == placeholder
    assert page.locator("#kb-language").input_value() == ("en" if locale == "en-GB" else "zh-Hant")


def test_the_receipt_copies_the_code_and_its_status_link_carries_it(context_for, live_server):
    from playwright.sync_api import expect
    context = context_for("en-GB")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    page.goto(live_server + "/complaint/")
    page.fill("#kb-description", "The water dispenser on floor 3 has been broken for a week")
    page.select_option("#kb-category", "facilities")
    page.fill("#kb-request", "Repair it")
    page.fill("#kb-occurred-at", "2026-11-20")
    page.fill("#kb-location", "Building A")
    page.check("#kb-disclosure-anonymous")
    page.click("#kb-submit")
    code = page.locator("#kb-tracking-code-value")
    expect(code).to_have_text(re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$"), timeout=10_000)
    tracking = code.inner_text()
    assert page.evaluate("document.activeElement.id") == "kb-result"  # focus on the receipt
    page.click("#kb-copy-code")
    expect(page.locator("#kb-copy-code")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == tracking
    href = page.locator("#kb-check-status").get_attribute("href")
    assert href.endswith("/status/#code=" + tracking)  # in the fragment: never sent to the server
    page.click("#kb-check-status")
    expect(page.locator("#kb-status-result")).to_contain_text("Received", timeout=10_000)
    assert "#code" not in page.url  # not left in the history


def test_a_failed_submit_focuses_a_summary_linked_to_each_field(context_for, live_server):
    from playwright.sync_api import expect
    page = context_for("en-GB").new_page()
    page.goto(live_server + "/complaint/")
    page.fill("#kb-description", "The water dispenser on floor 3 has been broken for a week")
    page.click("#kb-submit")
    summary = page.locator("#kb-error-summary")
    expect(summary).to_be_focused(timeout=10_000)
    expect(summary.locator("h3")).to_have_text("Some fields need fixing")  # the API's words, in English
    links = summary.locator("a")
    targets = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert {"#kb-category", "#kb-request", "#kb-location", "#kb-occurred-at"} <= set(targets)
    request = page.locator("#kb-request")
    assert request.get_attribute("aria-invalid") == "true"
    message, counter = request.get_attribute("aria-describedby").split()
    # Empty: "required" (the form sends no request at all since it can be optional for some categories).
    assert page.locator("#" + message).inner_text() == "This field is required"
    assert page.locator("#" + counter).inner_text() == "0 of 2000 characters"  # counted, never cut
    summary.locator('a[href="#kb-request"]').click()
    expect(request).to_be_focused()
    assert page.locator("#kb-description").get_attribute("aria-invalid") is None


def test_not_solved_opens_the_form_with_the_articles_category_and_title(context_for, live_server):
    from playwright.sync_api import expect
    page = context_for("zh-CN").new_page()
    page.goto(live_server + "/faq/facilities/water-dispenser-not-working/")
    title = page.locator("h1").first.inner_text().strip()
    page.locator("a.md-button[href*='complaint/#from=water-dispenser-not-working']").click()
    expect(page.locator("#kb-category")).to_have_value("facilities", timeout=10_000)
    assert page.locator("#kb-description").input_value() == f"我看了《{title}》，但是"


def test_long_texts_are_counted_not_cut(context_for, live_server):
    page = context_for("zh-CN").new_page()
    page.goto(live_server + "/complaint/")
    page.fill("#kb-request", "修" * 2001)
    assert page.locator("#kb-request").input_value() == "修" * 2001  # nothing silently dropped
    counter = page.locator("#kb-request-count")
    assert counter.inner_text() == "2001 / 2000 字" and "kb-counter--over" in counter.get_attribute("class")
    assert counter.get_attribute("aria-live") == "polite"


def test_the_browser_remembers_its_codes_until_forgotten(context_for, live_server):
    from playwright.sync_api import expect
    page = context_for("en-GB").new_page()
    page.goto(live_server + "/complaint/")
    page.fill("#kb-description", "The shuttle left ten minutes early twice this week")
    page.select_option("#kb-category", "facilities")
    page.fill("#kb-request", "Keep to the timetable")
    page.fill("#kb-occurred-at", "2026-11-20")
    page.fill("#kb-location", "Gate 2")
    page.check("#kb-disclosure-anonymous")
    page.click("#kb-submit")
    code = page.locator("#kb-tracking-code-value")
    expect(code).to_have_text(re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$"), timeout=10_000)
    page.goto(live_server + "/status/")
    mine = page.locator("#kb-my-complaints")
    expect(mine.locator("h2")).to_have_text("My complaints (this browser only)")
    mine.locator("li button").first.click()
    expect(page.locator("#kb-status-result")).to_contain_text("Received", timeout=10_000)
    mine.locator("button.kb-forget").click()
    expect(mine).to_be_hidden()
    page.reload()
    assert page.locator("#kb-my-complaints li").count() == 0
