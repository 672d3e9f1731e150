"""The site's own search box (issue 25, point 1): the API's engine when it answers, a static index by prefix otherwise.

Both paths in Debian's chromium over the sample site built once per
session: a plain static web server (no API: the static index) and the real
Flask app serving site and API (the API's ranking). Simplified, Traditional
and English queries on each.
"""

import gzip
import json
import re
import threading

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(built_kb, db_templates, tmp_path_factory):
    from intake_api import create_app
    db_url = db_templates.copy("sqlite", tmp_path_factory.mktemp("site-search"))
    application = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "KB_OVERRIDES": {"database_url": db_url},
                              "TESTING": True})
    application.extensions["test_served"] = _record_and_switch(application)
    yield application
    application.extensions["db_engine"].dispose()


def _record_and_switch(app):
    """Paths the app served, and a switch that makes /api/v1/search answer 404 (a site without the API)."""
    from flask import abort, request
    log: list[str] = []
    state = {"api": True}

    @app.before_request
    def no_api():
        if request.path == "/api/v1/search" and not state["api"]:
            abort(404)

    @app.after_request
    def record(response):
        log.append(request.path)
        return response
    return log, state


@pytest.fixture(scope="module")
def served(app):
    return app.extensions["test_served"]


@pytest.fixture(scope="module")
def api_site(app, served):
    """The real Flask app (site + API) under werkzeug's server in a thread."""
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(params=["static", "api"])
def site(request):
    return request.param, request.getfixturevalue("static_site" if request.param == "static" else "api_site")


def site_search(page, site: str, query: str) -> tuple[list[str], list]:
    """Search with the site's own search box as a person would: (result pages best first, search requests)."""
    from playwright.sync_api import expect
    requests = []
    page.on("requestfinished", lambda r: requests.append(r) if "/search" in r.url else None)
    page.goto(site + "/")
    page.wait_for_load_state("networkidle")
    page.locator("label.kb-search-button").click()  # the home page's own "search your problem" button
    # An IME commits Chinese text at once and then a key comes up; Material searches on that key.
    search = page.locator("input.md-search__input")
    search.fill(query)
    search.press("End")
    expect(page.locator(".md-search-result__item").first).to_be_visible(timeout=15_000)
    hrefs = page.locator(".md-search-result__link").evaluate_all("els => els.map(e => e.href)")
    return list(dict.fromkeys(re.sub(r"[?#].*", "", h) for h in hrefs)), requests


def status(request) -> int:
    response = request.response()
    return response.status if response else 0


@pytest.mark.parametrize("query, article", [
    ("饮水机坏了", "water-dispenser-not-working"),
    ("飲水機壞了", "water-dispenser-not-working"),       # Traditional query, Simplified article
    ("加班餐补怎么申请", "overtime-meal-allowance"),      # Simplified query, Traditional article
    ("install software on my laptop", "laptop-software-install"),  # English
])
def test_both_paths_find_the_article_in_either_script(page, site, app, built_kb, query, article):
    path, url = site
    # The form's first suggestion is the article (one engine for the form and the API path).
    assert app.test_client().get("/api/v1/suggest", query_string={"q": query}).get_json()["results"][0]["id"] == article
    pages, requests = site_search(page, url, query)
    assert any(p.endswith(f"/{article}/") for p in pages[:3]), pages[:5]
    api = [r for r in requests if "/api/v1/search" in r.url]
    shards = [r for r in requests if re.search(r"/search/kb/[0-9a-f]+/t/", r.url)]
    assert api, "the search box did not ask the API first"
    if path == "api":
        # The API answered: the static index was never fetched, and the order is the API's own.
        assert status(api[-1]) == 200 and shards == []
        expected = app.test_client().get("/api/v1/search", query_string={"q": query, "limit": 10}).get_json()
        assert pages[0].endswith(expected["results"][0]["url"])
    else:
        assert status(api[0]) == 404 and shards and all(status(r) == 200 for r in shards)
        # A few files of the index, not the index.
        index = next((built_kb / "site" / "search" / "kb").iterdir())
        fetched = {r.url.split("/t/", 1)[1] for r in shards}
        assert 0 < len(fetched) < len(list((index / "t").iterdir())), fetched


def test_the_static_path_knows_hr_s_own_words(page, static_site):
    """content/synonyms.yml reaches the static index too: 薪金 finds the pages about 工资 (issue 16, point 5)."""
    pages, _ = site_search(page, static_site, "薪金")
    assert any(p.endswith(("/payslip-error/", "/salary-paid-late/")) for p in pages[:3]), pages[:5]


def test_the_stub_is_small_and_revalidated_the_index_files_are_kept(app, built_kb):
    client = app.test_client()
    stub = client.get("/search/search_index.json")
    assert stub.status_code == 200 and len(stub.data) < 20_000
    assert stub.headers["Cache-Control"] == "no-cache" or "max-age=0" in stub.headers["Cache-Control"]
    assert client.get("/search/search_index.json", headers={"If-None-Match": stub.headers["ETag"]}).status_code == 304
    kb = stub.get_json()["config"]["kb"]
    assert stub.get_json()["docs"] == []
    shard = client.get(f"/{kb['path']}d/0.json.gz")
    assert shard.status_code == 200 and "immutable" in shard.headers["Cache-Control"]
    assert "max-age=31536000" in shard.headers["Cache-Control"]
    rows = json.loads(gzip.decompress(shard.data))
    assert any(row[0] == "faq/facilities/water-dispenser-not-working/" for row in rows)


def test_the_static_index_is_fetched_once_not_on_every_page(page, api_site, served):
    """`kb serve` without the search API: the second page's search takes the index files from the browser's cache."""
    log, state = served
    state["api"] = False
    try:
        first, _ = site_search(page, api_site, "饮水机坏了")
        fetched = [p for p in log if "/search/kb/" in p]
        assert fetched and first[0].endswith("/water-dispenser-not-working/")
        log.clear()
        page.goto(api_site + "/complaint/")
        page.wait_for_load_state("networkidle")
        box = page.locator("input.md-search__input")
        box.click()
        box.fill("饮水机坏了")
        box.press("End")
        from playwright.sync_api import expect
        expect(page.locator(".md-search-result__item").first).to_be_visible(timeout=15_000)
        assert "/search/search_index.json" in log  # the stub is asked again (304 when unchanged)...
        assert [p for p in log if "/search/kb/" in p] == []  # ...the index files are not
    finally:
        state["api"] = True


def test_the_static_index_holds_only_published_pages(built_kb):
    """An unpublished case's own words are nowhere in the static index; a published one's are."""
    from kb_builder.analysis import tokens
    folder = next((built_kb / "site" / "search" / "kb").iterdir())
    vocabulary = set()
    for shard in (folder / "t").iterdir():
        vocabulary |= set(json.loads(gzip.decompress(shard.read_bytes()))["t"])
    unpublished = (built_kb / "content" / "cases" / "dorm-laundry-machines.md").read_text(encoding="utf-8")
    assert "published: false" in unpublished
    published_words = {w for p in (built_kb / "site").rglob("index.html")
                       for w in tokens(re.sub(r"<[^>]+>", " ", p.read_text(encoding="utf-8")))}
    only_there = set(tokens(unpublished)) - published_words
    assert only_there, "the unpublished case shares every word with the site: the test would check nothing"
    assert not only_there & vocabulary, sorted(only_there & vocabulary)
    assert "饮水机" in vocabulary


def test_the_worker_escapes_what_it_shows(page, tmp_path):
    """Titles and texts reach Material as HTML: the worker escapes markup from either path."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    from pathlib import Path

    from kb_builder.site_search import WORKER, page_record, write_static_index

    hostile = '<img src=x onerror="window.pwned=1">'
    record = page_record("faq/x/evil/", f"饮水机 {hostile}", f"饮水机坏了 {hostile}")
    stub, _ = write_static_index(tmp_path, {record.location: record}, {}, api="")
    (tmp_path / WORKER).parent.mkdir(parents=True)
    (tmp_path / WORKER).write_bytes((Path(__file__).parents[1] / "docs" / WORKER).read_bytes())
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>", encoding="utf-8")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        items = page.evaluate("""async ([worker, config]) => {
            const w = new Worker(worker);
            const answer = new Promise(done => w.onmessage = ev => { if (ev.data.type === 3) done(ev.data.data.items); });
            w.postMessage({type: 0, data: {config, docs: []}});
            w.postMessage({type: 2, data: "飲水機"});
            return await answer;
        }""", [WORKER, stub["config"]])
    finally:
        server.shutdown()
    assert len(items) == 1
    shown = items[0][0]
    assert shown["location"] == "faq/x/evil/"
    assert "<img" not in shown["title"] and "&lt;img" in shown["title"] and "<img" not in shown["text"]


def test_typing_fast_stays_far_under_the_rate_limits(page, api_site, served):
    """One person typing fast (16 keys a second) makes a few API requests, not one per key: the search box waits
    120 ms after a key, the form 300 ms, so rate_limits.search and .suggest (120 a minute) are never reached."""
    from playwright.sync_api import expect
    log, _ = served
    page.goto(api_site + "/")
    page.wait_for_load_state("networkidle")
    page.locator("label.kb-search-button").click()
    log.clear()
    page.locator("input.md-search__input").press_sequentially("install software on my laptop please", delay=60)
    expect(page.locator(".md-search-result__item").first).to_be_visible(timeout=15_000)
    page.wait_for_timeout(500)
    assert 1 <= log.count("/api/v1/search") <= 6, log
    page.goto(api_site + "/complaint/")
    page.wait_for_load_state("networkidle")
    log.clear()
    page.locator("#kb-description").press_sequentially("三楼茶水间的饮水机坏了已经两天没有热水请尽快修好谢谢", delay=60)
    expect(page.locator("#kb-suggestion-list li").first).to_be_visible(timeout=10_000)
    page.wait_for_timeout(500)
    assert 1 <= log.count("/api/v1/suggest") <= 4, log
