"""Employee text never becomes markup on the site, and a script on a site page never reaches staff data.

The attack of the hostile review, end to end: an anonymous complaint whose
text carries a script is resolved, published with `kb publish --approve` and
rebuilt; a logged-in staff member then opens the article.
"""

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import COMPLAINT, PASSWORD, api_login, start_kb_serve, stop_kb_serve, write_case

ATTACK = ("饮水机漏水把地板泡了<script>fetch('/api/v1/staff/complaints').then(r=>r.text()).then(t=>"
          "fetch('/api/v1/complaints/CODE/messages',{method:'POST',body:t}))</script>"
          "<img src=x onerror=\"window.__pwned=1\"> [点这里](javascript:window.__pwned=2) "
          "![p](https://evil.example/track.png) [资料](https://evil.example/steal) <a href='javascript:alert(1)'>x</a>")
HOSTILE_TITLE = "<img src=x onerror=window.__pwned=3></title><script>window.__pwned=4</script>"


class _Tags(HTMLParser):
    """Every element and attribute of a page, as a browser's parser would see them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def parse(path: Path) -> _Tags:
    p = _Tags()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def assert_inert(path: Path, theme_scripts: int | None = None) -> _Tags:
    page = parse(path)
    for tag, attrs in page.tags:
        handlers = [a for a in attrs if a.startswith("on")]
        assert not handlers, f"{path}: <{tag}> has {handlers}"
        for a in ("href", "src"):
            value = (attrs.get(a) or "").strip().lower()
            # The theme's own share button is `javascript:void(0)`; nothing else may be.
            assert not value.startswith("javascript:") or value == "javascript:void(0)", f"{path}: {tag} {a}={value}"
    text = path.read_text(encoding="utf-8")
    article = re.search(r"<article\b.*?</article>", text, re.S).group(0)
    assert "<script" not in article.lower(), f"{path}: a script inside the article"
    return page


def test_hostile_html_titles_and_links_are_published_as_text(kb_tree):
    from kb_builder.build import build
    from kb_builder.config import load_config

    write_case(kb_tree, "hr-hostile", title=json.dumps(HOSTILE_TITLE), tags=json.dumps(["<b onmouseover=x>标签</b>"]),
               body=f"## 问题\n\n{ATTACK}\n\n<div onclick=\"x()\">HR 的 HTML</div>\n")
    write_case(kb_tree, "from-complaint", title=json.dumps("饮水机漏水 <script>alert(1)</script>"), origin="complaint",
               body=f"## 问题\n\n{ATTACK}\n\n## 处理办法\n\n见[报修指南](../../../sop/facilities/)。\n")
    build(load_config(kb_tree / "kb.yml"))
    site = kb_tree / "site"
    hr = assert_inert(site / "faq/facilities/hr-hostile/index.html")
    mine = assert_inert(site / "faq/facilities/from-complaint/index.html")
    # The title shows as the text it is, in <title>, the header and the <h1>, and runs nothing.
    assert hr.title.startswith(HOSTILE_TITLE)
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", (site / "faq/facilities/hr-hostile/index.html").read_text(), re.S).group(1)
    assert "&lt;img src=x" in h1 and "<img" not in h1
    # A page drafted from a complaint: its raw HTML is text, and no link or image leaves the site.
    text = (site / "faq/facilities/from-complaint/index.html").read_text(encoding="utf-8")
    article = re.search(r"<article\b.*?</article>", text, re.S).group(0)
    assert "&lt;script&gt;fetch(" in article and "&lt;img src=x onerror=" in article
    offsite = [a for t, a in mine.tags for k, v in a.items() if k in ("href", "src") and "evil.example" in (v or "")]
    assert offsite == []
    assert '<a href="../../../sop/facilities/"' in article  # a link within the site stays
    # HR's own Markdown keeps its off-site links, but never a handler or a script.
    assert any("evil.example/steal" in (a.get("href") or "") for t, a in hr.tags if t == "a")
    # Category, tags and FAQ index pages list the titles as text.
    for rel in ("faq/facilities/index.html", "faq/tags/index.html", "faq/index.html", "index.html", "404.html"):
        assert_inert_everywhere = parse(site / rel)
        for tag, attrs in assert_inert_everywhere.tags:
            assert not [a for a in attrs if a.startswith("on")], (rel, tag, attrs)
    listing = (site / "faq/facilities/index.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror" in listing
    # The site search's static index holds the pages' text as text: no markup of the page survives into it
    # (the worker escapes what it shows: test_site_search.py), and the hostile words are there as words.
    from test_build import static_search_index
    _, _, docs = static_search_index(site.parent)
    titles = {location: title for location, title, _ in docs}
    assert titles["faq/facilities/hr-hostile/"].startswith(HOSTILE_TITLE)  # as shown on the page, to be escaped
    assert not [t for _, title, text in docs for t in ("<p>", "<div", "<h2", "<a href") if t in title + text]


def test_an_approved_phrasing_with_markup_is_published_as_text(kb_tree):
    """A phrasing learnt from a complaint (issue 24) is employee text: the article lists it as the words typed."""
    from intake_api.phrasings import add_question, case_file
    from kb_builder.build import build
    from kb_builder.config import load_config

    path = case_file(kb_tree / "content", "water-dispenser-not-working")
    assert path is not None
    assert add_question(path, ATTACK.replace("\n", " "), ["facilities"])
    build(load_config(kb_tree / "kb.yml"))
    page = kb_tree / "site/faq/facilities/water-dispenser-not-working/index.html"
    assert_inert(page)
    article = re.search(r"<article\b.*?</article>", page.read_text(encoding="utf-8"), re.S).group(0)
    assert "饮水机漏水把地板泡了&lt;script&gt;fetch(" in article and "&lt;img src=x onerror=" in article
    assert "evil.example" not in "".join(f"{a}" for _, a in parse(page).tags)  # no image or link leaves the site


@pytest.mark.backend("sqlite")  # a build's work, not the database's
def test_kb_publish_writes_a_complaint_as_text_and_the_site_shows_it_inert(kb_tree, db_url):
    """The review's attack: an anonymous script-bearing complaint, resolved, published with --approve, rebuilt."""
    from intake_api import create_app
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    from kb_builder.build import build
    from kb_builder.config import load_config

    cfg = load_config(kb_tree / "kb.yml")
    app = create_app({"KB_CONFIG": str(kb_tree / "kb.yml"), "KB_OVERRIDES": {"database_url": db_url}})
    with app.app_context():
        create_staff(get_session(), "liu", PASSWORD, "handler", ["facilities"])
        get_session().commit()
    client = app.test_client()
    number = client.post("/api/v1/complaints", json=dict(COMPLAINT, description=ATTACK)).get_json()["number"]
    api_login(client, "liu")
    for action, body in [("status", {"status": "assessed"}), ("status", {"status": "investigating"}),
                         ("response", {"text": "已修好 <img src=x onerror=alert(1)>"}), ("status", {"status": "resolved"})]:
        assert client.post(f"/api/v1/staff/complaints/{number}/{action}", json=body).status_code == 200
    env = dict(os.environ, KB_CONFIG=str(kb_tree / "kb.yml"), KB_DATABASE_URL=db_url)
    kb = Path(sys.executable).with_name("kb")
    run = subprocess.run([str(kb), "publish", number, "--approve"], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    case = (kb_tree / "content/cases" / f"{number.lower()}.md").read_text(encoding="utf-8")
    assert "origin: complaint" in case
    build(cfg)
    page = kb_tree / "site/faq/facilities" / number.lower() / "index.html"
    assert_inert(page)
    text = page.read_text(encoding="utf-8")
    assert "evil.example" not in re.search(r"<article\b.*?</article>", text, re.S).group(0).split("&lt;")[0]
    assert "&lt;script&gt;" in text


@pytest.mark.browser
@pytest.mark.backend("postgresql")
def test_a_script_planted_in_an_article_neither_runs_nor_reaches_staff_data(kb_tree, db_url):
    """Two layers, each shown on its own in Debian's chromium.

    1. A script written straight into a built article (as if the sanitiser had
       missed it) does not run: the site's CSP allows only the theme's hashed
       inline scripts.
    2. Code that does run on a site page (evaluated by the test in the page,
       as the worst case) gets no staff data with a logged-in staff cookie:
       the staff API needs the token, workspace pages refuse fetches and
       frames, and a workspace window it opens is cut off from it.
    """
    from playwright.sync_api import sync_playwright

    from conftest import ARGS, CHROMIUM
    from intake_api import create_app
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    from kb_builder.build import build
    from kb_builder.config import load_config

    build(load_config(kb_tree / "kb.yml"))
    article = kb_tree / "site/faq/facilities/water-dispenser-not-working/index.html"
    html = article.read_text(encoding="utf-8")
    planted = ("<script>window.__pwned='inline'</script><img src=x onerror=\"window.__pwned='handler'\">"
               "<a id='kb-planted' href=\"javascript:window.__pwned='link'\">x</a>")
    article.write_text(html.replace("</article>", planted + "</article>", 1), encoding="utf-8")

    app = create_app({"KB_CONFIG": str(kb_tree / "kb.yml"), "KB_OVERRIDES": {"database_url": db_url}})
    with app.app_context():
        create_staff(get_session(), "er", PASSWORD, "relations", [])
        get_session().commit()
    proc, url = start_kb_serve(kb_tree / "kb.yml", db_url)
    try:
        secret = "保密投诉人王小明"
        number = json.loads(__import__("urllib.request").request.urlopen(__import__("urllib.request").request.Request(
            url + "/api/v1/complaints", data=json.dumps(dict(COMPLAINT, disclosure="confidential", identity={
                "name": secret, "department": "财务部", "contact": "13912345678"})).encode(),
            headers={"Content-Type": "application/json"})).read())["number"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page()
            violations = []
            page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
            # The staff member logs in to the workspace in this browser.
            page.goto(url + "/staff/login")
            page.fill("input[name=username]", "er")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r"/staff/?$"))
            page.goto(url + f"/staff/complaints/{number}")
            assert secret in page.content()  # the staff member can see it...

            page.goto(url + "/faq/facilities/water-dispenser-not-working/")
            page.wait_for_selector("#kb-planted", state="attached")
            page.click("#kb-planted")
            page.wait_for_timeout(300)
            assert page.evaluate("window.__pwned") is None
            assert violations, "the CSP reported nothing: was the planted script blocked by it?"
            # The theme still works under the policy: its search answers.
            page.wait_for_load_state("networkidle")
            search = page.locator("input.md-search__input")
            search.click()
            search.fill("饮水机坏了")
            search.press("End")
            page.wait_for_selector(".md-search-result__item", timeout=15_000)

            stolen = page.evaluate("""async (number) => {
                const out = {};
                const api = await fetch('/api/v1/staff/complaints/' + number, {credentials: 'include'});
                out.api = [api.status, await api.text()];
                const list = await fetch('/api/v1/staff/complaints', {credentials: 'include'});
                out.list = [list.status, await list.text()];
                const ws = await fetch('/staff/complaints/' + number, {credentials: 'include'});
                out.ws = [ws.status, await ws.text()];
                const w = window.open('/staff/complaints/' + number);
                await new Promise(r => setTimeout(r, 1500));
                try { out.popup = w && !w.closed ? w.document.documentElement.outerHTML : 'cut off'; }
                catch (e) { out.popup = 'blocked: ' + e.name; }
                const f = document.createElement('iframe');
                f.src = '/staff/complaints/' + number;
                document.body.appendChild(f);
                await new Promise(r => setTimeout(r, 1500));
                try { out.frame = f.contentDocument ? f.contentDocument.documentElement.outerHTML : 'none'; }
                catch (e) { out.frame = 'blocked: ' + e.name; }
                return out;
            }""", number)
            browser.close()
    finally:
        stop_kb_serve(proc)
    assert stolen["api"][0] == 403 and stolen["list"][0] == 403 and stolen["ws"][0] == 403
    for key, value in stolen.items():
        text = value[1] if isinstance(value, list) else value
        assert secret not in text and "13912345678" not in text, (key, text[:300])
    assert stolen["popup"] in ("cut off",) or stolen["popup"].startswith("blocked"), stolen["popup"][:200]
