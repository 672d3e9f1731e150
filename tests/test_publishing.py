"""Approving an article in the workspace publishes it: the worker's build, one at a time, shown on the page."""

import datetime as dt
import re
import threading

import pytest
from conftest import PASSWORD, api_login, query_db, token_of, write_case
from conftest import workspace_login as login

PROBLEM = "四号楼电梯按钮失灵，按了没反应，经常停在半层"
ARTICLE = {"title": "电梯按钮失灵、停在半层怎么办", "tags": "电梯, 报修",
           "questions": "电梯按钮失灵\n电梯停在半层\n按电梯没反应"}


def make_app(kb_tree, db_url, **overrides):
    from intake_api import create_app
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    app = create_app({"KB_CONFIG": str(kb_tree / "kb.yml"), "KB_OVERRIDES": {"database_url": db_url, **overrides}})
    with app.app_context():
        create_staff(get_session(), "liu", PASSWORD, "handler", ["facilities"], display_name="刘建国")
        create_staff(get_session(), "hr", PASSWORD, "admin", [])
        get_session().commit()
    return app


def resolved_complaint(app) -> str:
    client = app.test_client()
    number = client.post("/api/v1/complaints", json={
        "category": "facilities", "description": f"{PROBLEM}。我是财务部周晓梅，电话 13912345678",
        "request": "尽快修好", "occurred_at": "2026-11-20", "location": "四号楼", "identity": {"name": "周晓梅"}},
    ).get_json()["number"]
    headers = {"X-CSRFToken": api_login(client, "liu")}
    for action, body in [("status", {"status": "assessed"}), ("status", {"status": "investigating"}),
                         ("response", {"text": "物业更换了四号楼电梯的按钮面板和控制板，已恢复正常。"}),
                         ("status", {"status": "resolved"})]:
        assert client.post(f"/api/v1/staff/complaints/{number}/{action}", json=body, headers=headers).status_code == 200
    return number


def approve(client, number, body=None):
    page = client.get(f"/staff/complaints/{number}/article").get_data(as_text=True)
    if body is None:
        body = re.search(r'<textarea id="body"[^>]*>(.*?)</textarea>', page, re.S).group(1)
        body = (body.replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"').replace("&#39;", "'")
                .replace("[姓名]", "一位同事").replace("[电话]", "").replace("[部门]", ""))
    return client.post(f"/staff/complaints/{number}/article?lang=en", data={
        "csrf_token": token_of(page), "action": "approve", **ARTICLE, "body": body}, follow_redirects=True)


def worker_for(app):
    from intake_api.worker import Worker
    return Worker(app.config["KB"], app.extensions["db_engine"], app.extensions["kb_clock"], name="test-worker")


@pytest.mark.backend("postgresql")  # a build's work, not the database's
def test_a_handlers_approval_waits_for_an_admin_then_the_worker_publishes_it(kb_tree, db_url):
    from kb_builder.build import build
    from kb_builder.config import load_config
    build(load_config(kb_tree / "kb.yml"))
    app = make_app(kb_tree, db_url)
    number = resolved_complaint(app)
    case_file = kb_tree / "content" / "cases" / f"{number.lower()}.md"

    liu = login(app, "liu")
    page = approve(liu, number).get_data(as_text=True)
    assert "Approved: it waits for an admin&#39;s approval before it is published" in page
    assert 'data-status="awaiting"' in page and "Waiting for an admin&#39;s approval" in page
    assert "published: false" in case_file.read_text(encoding="utf-8")
    assert worker_for(app).run_once() >= 0 and query_db(db_url, "SELECT status FROM publications") == [("awaiting",)]

    hr = login(app, "hr")
    page = hr.get(f"/staff/complaints/{number}/article?lang=en").get_data(as_text=True)
    assert "Give the second approval and publish" in page
    assert f'href="/staff/complaints/{number}/article"' in hr.get("/staff/publishing").get_data(as_text=True)
    page = approve(hr, number).get_data(as_text=True)
    assert "Approved: the site is being rebuilt" in page
    assert 'data-status="queued"' in page and '<meta http-equiv="refresh" content="5">' in page
    assert "published: true" in case_file.read_text(encoding="utf-8")
    assert not (kb_tree / "site" / "faq" / "facilities" / number.lower()).exists()  # not built yet

    assert worker_for(app).run_once() >= 0  # the worker's round: deliveries, then the build
    rows = query_db(db_url, "SELECT status, requested_by, approved_by, message FROM publications")
    assert [r[:3] for r in rows] == [("done", "staff:liu", "staff:hr")] and "cases" in rows[0][3]
    page = hr.get(f"/staff/complaints/{number}/article?lang=en").get_data(as_text=True)
    assert 'data-status="done"' in page and "Published on the site" in page and "http-equiv" not in page
    html = (kb_tree / "site" / "faq" / "facilities" / number.lower() / "index.html").read_text(encoding="utf-8")
    assert "电梯按钮失灵" in html and "周晓梅" not in html and "13912345678" not in html
    top = app.test_client().get("/api/v1/suggest", query_string={"q": "电梯按钮按了没反应"}).get_json()["results"][0]
    assert top["id"] == number.lower()
    history = query_db(db_url, "SELECT actor, action FROM complaint_events WHERE action LIKE 'article%' ORDER BY id")
    assert history == [("staff:liu", "article_approved"), ("staff:hr", "article_published")]


@pytest.mark.backend("sqlite")  # a build's work, not the database's
def test_a_failed_build_shows_the_builders_message_and_leaves_the_site(kb_tree, db_url):
    from kb_builder.build import build
    from kb_builder.config import load_config
    build(load_config(kb_tree / "kb.yml"))
    before = (kb_tree / "site" / "index.html").read_bytes()
    app = make_app(kb_tree, db_url, **{"publishing.second_approval": False})
    number = resolved_complaint(app)
    # Someone broke another article by hand since the last build.
    write_case(kb_tree, "broken-hvac", category="hvac")

    page = approve(login(app, "liu"), number).get_data(as_text=True)  # no second approval configured
    assert "Approved: the site is being rebuilt" in page
    assert worker_for(app).build_once() == 1
    page = login(app, "liu").get(f"/staff/complaints/{number}/article?lang=en").get_data(as_text=True)
    assert 'data-status="failed"' in page and "The build failed" in page
    message = re.search(r'<pre class="pre" id="builder-message">(.*?)</pre>', page, re.S).group(1)
    assert re.search(r"content/cases/broken-hvac\.md:\d+: field &#39;category&#39;: unknown category &#39;hvac&#39;",
                     message), message
    assert str(kb_tree) not in message
    assert (kb_tree / "site" / "index.html").read_bytes() == before
    assert not (kb_tree / "site" / "faq" / "facilities" / number.lower()).exists()


def test_placeholders_left_by_redaction_are_warned_about(kb_tree, db_url):
    app = make_app(kb_tree, db_url)
    number = resolved_complaint(app)
    page = login(app, "liu").get(f"/staff/complaints/{number}/article?lang=en").get_data(as_text=True)
    warning = re.search(r'<div class="flash-error" id="placeholder-warning".*?</div>', page, re.S).group(0)
    assert "Placeholders left by redaction are still in the text" in warning
    assert "<code>[姓名]</code> × 1" in warning and "<code>[电话]</code> × 1" in warning


def test_the_resolved_date_is_the_organisations_day():
    from conftest import ROOT

    from intake_api.models import Complaint
    from intake_api.publish import resolved_day
    from kb_builder.config import load_config
    kb = load_config(ROOT / "kb.yml")
    c = Complaint(resolved_at=dt.datetime(2026, 9, 14, 17, 30, tzinfo=dt.UTC))  # 01:30 on the 15th in Shanghai
    assert kb.timezone == "Asia/Shanghai" and resolved_day(kb, c) == dt.date(2026, 9, 15)
    c = Complaint(resolved_at=dt.datetime(2026, 9, 14, 15, 59, tzinfo=dt.UTC))  # 23:59 on the 14th
    assert resolved_day(kb, c) == dt.date(2026, 9, 14)


def _queued(session, article):
    from intake_api import build_queue
    row = build_queue.request(session, article, None, "staff:hr", queue=True)
    session.commit()
    return row


def test_one_build_at_a_time_across_workers(db_url):
    from sqlalchemy.orm import Session

    from intake_api import build_queue
    from intake_api.db import make_engine
    engine = make_engine(db_url)
    lease = dt.timedelta(minutes=30)
    with Session(engine) as a, Session(engine) as b:
        _queued(a, "one")
        _queued(a, "two")
        taken = build_queue.claim(a, "worker-a", lease)
        assert [r.article_id for r in taken] == ["one", "two"]  # one build for everything queued
        _queued(b, "three")
        assert build_queue.claim(b, "worker-b", lease) == []  # worker-a is building
        build_queue.finish(a, taken, build_queue.DONE, "ok")
        assert [r.article_id for r in build_queue.claim(b, "worker-b", lease)] == ["three"]

        # A worker that died mid-build: once its lease runs out the build is queued again and taken.
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        again = build_queue.claim(a, "worker-a", lease, now=later)
        assert [(r.article_id, r.attempts) for r in again] == [("three", 2)]


def test_concurrent_claims_give_one_build(db_url):
    from sqlalchemy.orm import Session

    from intake_api import build_queue
    from intake_api.db import make_engine
    engine = make_engine(db_url)
    with Session(engine) as s:
        for i in range(3):
            _queued(s, f"article-{i}")
    won: list[list[str]] = []
    start = threading.Barrier(4)

    def claimer(name):
        with Session(engine) as session:
            start.wait()
            try:
                won.append([r.article_id for r in build_queue.claim(session, name, dt.timedelta(minutes=5))])
            except Exception as exc:  # SQLite's lock refused one: no build for that worker either
                assert "locked" in str(exc), exc
                won.append([])

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(len, won)) == [0, 0, 0, 3]
    assert query_db(db_url, "SELECT COUNT(DISTINCT worker) FROM publications") == [(1,)]


def test_only_admins_see_the_publishing_list(kb_tree, db_url):
    app = make_app(kb_tree, db_url)
    assert login(app, "liu").get("/staff/publishing").status_code == 403
    assert login(app, "hr").get("/staff/publishing?lang=en").status_code == 200


def test_the_staff_api_edits_and_approves_an_article_as_the_workspace_does(kb_tree, db_url):
    """GET the redacted draft, save an edit (redacted again), a handler's approval waits, an admin's publishes."""
    app = make_app(kb_tree, db_url)
    number = resolved_complaint(app)
    case_file = kb_tree / "content" / "cases" / f"{number.lower()}.md"
    liu = app.test_client()
    headers = {"X-CSRFToken": api_login(liu, "liu"), "Accept-Language": "en"}
    url = f"/api/v1/staff/complaints/{number}/article"

    draft = liu.get(url, headers=headers).get_json()
    assert "13912345678" not in str(draft) and "周晓梅" not in str(draft)
    assert draft["redacted"] and draft["placeholders_left"] and draft["published"] is False
    assert draft["publication"] is None

    body = draft["body"].replace("[姓名]", "一位同事").replace("[电话]", "").replace("[部门]", "") + "\n有事打 13800001111\n"
    saved = liu.post(url, json={**ARTICLE, "tags": ["电梯", "报修"], "questions": ARTICLE["questions"].split("\n"),
                                "body": body}, headers=headers)
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["title"] == ARTICLE["title"] and "13800001111" not in case_file.read_text(encoding="utf-8")
    assert "published: false" in case_file.read_text(encoding="utf-8")

    waiting = liu.post(url, json={"action": "approve"}, headers=headers).get_json()
    assert waiting["publication"]["status"] == "awaiting" and waiting["published"] is False
    assert waiting["title"] == ARTICLE["title"]  # fields left out keep the saved draft's

    hr = app.test_client()
    hr_headers = {"X-CSRFToken": api_login(hr, "hr")}
    done = hr.post(url, json={"action": "approve"}, headers=hr_headers).get_json()
    assert done["publication"]["status"] == "queued" and done["published"] is True
    assert "published: true" in case_file.read_text(encoding="utf-8")
    history = hr.get(f"/api/v1/staff/complaints/{number}", headers={**hr_headers, "Accept-Language": "en"}).get_json()["history"]
    assert [h["label"] for h in history if h["action"].startswith("article_")] == [
        "Written up as a draft article", "Article approved, awaiting an admin's approval", "Article approved and published"]

    bad = liu.post(url, json={"action": "publish", "title": 5}, headers=headers)
    assert bad.status_code == 400 and {e["field"] for e in bad.get_json()["errors"]} >= {"action"}
    unresolved = liu.post("/api/v1/complaints", json={"category": "facilities", "description": PROBLEM,
                                                       "request": "尽快修好", "occurred_at": "2026-11-20",
                                                       "location": "四号楼"}).get_json()
    assert "number" in unresolved, unresolved
    unresolved = unresolved["number"]
    assert hr.get(f"/api/v1/staff/complaints/{unresolved}/article", headers=hr_headers).status_code == 409


def test_editing_a_live_article_leaves_it_on_the_site_until_the_edit_is_approved(kb_tree, db_url):
    """A saved edit, and a handler's approval waiting for an admin's, keep the live file as it is."""
    from kb_builder.build import build
    from kb_builder.config import load_config
    app = make_app(kb_tree, db_url)
    number = resolved_complaint(app)
    case_file = kb_tree / "content" / "cases" / f"{number.lower()}.md"
    pending = kb_tree / "content" / "cases" / "pending" / f"{number.lower()}.md"
    url = f"/api/v1/staff/complaints/{number}/article"
    hr, liu = app.test_client(), app.test_client()
    hr_headers, liu_headers = {"X-CSRFToken": api_login(hr, "hr")}, {"X-CSRFToken": api_login(liu, "liu")}
    body = hr.get(url, headers=hr_headers).get_json()["body"].replace("[姓名]", "一位同事").replace("[电话]", "")
    assert hr.post(url, json={"title": "电梯按钮失灵怎么办", "body": body, "action": "approve"},
                   headers=hr_headers).get_json()["published"] is True
    live = case_file.read_text(encoding="utf-8")
    assert "published: true" in live and not pending.exists()

    edited = liu.post(url, json={"title": "电梯按钮失灵、停在半层怎么办"}, headers=liu_headers).get_json()
    assert edited["title"] == "电梯按钮失灵、停在半层怎么办" and edited["published"] is True
    assert case_file.read_text(encoding="utf-8") == live  # the live article is untouched
    assert "电梯按钮失灵、停在半层怎么办" in pending.read_text(encoding="utf-8")
    waiting = liu.post(url, json={"action": "approve"}, headers=liu_headers).get_json()
    assert waiting["publication"]["status"] == "awaiting" and waiting["published"] is True
    assert case_file.read_text(encoding="utf-8") == live
    cfg = load_config(kb_tree / "kb.yml")
    build(cfg)  # anyone's build meanwhile keeps the page
    page = kb_tree / "site" / "faq" / "facilities" / number.lower() / "index.html"
    assert "电梯按钮失灵怎么办" in page.read_text(encoding="utf-8")

    done = hr.post(url, json={"action": "approve"}, headers=hr_headers).get_json()
    assert done["publication"]["status"] == "queued" and done["title"] == "电梯按钮失灵、停在半层怎么办"
    assert "电梯按钮失灵、停在半层怎么办" in case_file.read_text(encoding="utf-8") and not pending.exists()
    build(cfg)
    assert "电梯按钮失灵、停在半层怎么办" in page.read_text(encoding="utf-8")
