"""Every answered complaint teaches the knowledge base: linking, approval, the in-place edit, the guard,
and the honest loop figures (false deflections from the same browser, content gaps at submit time)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from conftest import COMPLAINT, PASSWORD, api_login, query_db

CASE = "canteen-food-cold"
# Today this wording gets the wrong article first (running out of food; see the first assertion).
WORDING = "中午打的饭一点热气都没有"
TOKEN = "3f1c2a9e-0d4b-4c55-9a7e-1b2c3d4e5f60"


@pytest.fixture
def kb(built_kb: Path, tmp_path: Path) -> Path:
    """A copy of the built sample knowledge base whose content this test may change."""
    return Path(shutil.copytree(built_kb, tmp_path / "kb"))


@pytest.fixture
def learning_app(kb: Path, db_url: str):
    from intake_api import create_app
    from intake_api.auth import create_staff
    from intake_api.db import get_session

    app = create_app({"KB_CONFIG": str(kb / "kb.yml"), "KB_OVERRIDES": {"database_url": db_url}, "TESTING": True})
    with app.app_context():
        create_staff(get_session(), "wang", PASSWORD, "handler", ["canteen"], display_name="王芳")
        create_staff(get_session(), "hr", PASSWORD, "admin", [])
        get_session().commit()
    yield app
    app.extensions["db_engine"].dispose()


def execute(db_url: str, sql: str, **params) -> None:
    from sqlalchemy import create_engine, text
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


def resolved(client, description: str, **extra) -> str:
    """A canteen complaint taken to resolved by its handler; returns its number (logged in as wang)."""
    body = dict(COMPLAINT, category="canteen", description=description, **extra)
    res = client.post("/api/v1/complaints", json=body)
    assert res.status_code == 201, res.get_json()
    number = res.get_json()["number"]
    api_login(client, "hr")
    for action, data in [("assign", {"handler": "wang"}), ("status", {"status": "assessed"}),
                         ("status", {"status": "investigating"}),
                         ("response", {"text": "后厨已修好保温台，王芳每天抽查菜温。"}), ("status", {"status": "resolved"})]:
        res = client.post(f"/api/v1/staff/complaints/{number}/{action}", json=data)
        assert res.status_code == 200, (action, res.get_json())
    return number


def test_a_linked_complaint_becomes_an_approved_phrasing_in_the_file_and_the_next_build_answers_it(
        learning_app, kb: Path):
    from kb_builder.build import build
    from kb_builder.config import load_config

    client = learning_app.test_client()
    before = client.post("/api/v1/suggest", json={"q": WORDING}).get_json()
    assert not before["results"] or before["results"][0]["id"] != CASE
    case_file = kb / "content" / "cases" / f"{CASE}.md"
    # HR's own comments and layout in the file: they must survive the edit.
    original = case_file.read_text(encoding="utf-8").replace("questions:\n", "questions:  # 员工的说法\n", 1)
    original = original.replace("published: true\n", "published: true\n# 最后核对：2026-01\n", 1)
    case_file.write_text(original, encoding="utf-8")

    number = resolved(client, f"{WORDING}，我是周晓梅，电话 13912345678。已经一周了。",
                      identity={"name": "周晓梅", "contact": "13912345678"})
    api_login(client, "wang")
    candidates = client.get(f"/api/v1/staff/complaints/{number}/link").get_json()["candidates"]
    assert CASE in [c["id"] for c in candidates]
    assert all(c["why"] and "matched" in c["why"] for c in candidates)  # why each one came up
    res = client.post(f"/api/v1/staff/complaints/{number}/link", json={"article_id": CASE})
    assert res.status_code == 201, res.get_json()
    proposal = res.get_json()
    assert proposal["status"] == "proposed" and WORDING in proposal["text"]
    assert "周晓梅" not in proposal["text"] and "13912345678" not in proposal["text"]
    assert proposal["conflicts"] == []
    # A handler links; only HR approves.
    assert client.post(f"/api/v1/staff/phrasings/{proposal['id']}", json={"decision": "approve"}).status_code == 403
    history = client.get(f"/api/v1/staff/complaints/{number}").get_json()["history"]
    assert history[-1]["action"] == "article_linked"

    api_login(client, "hr")
    listed = client.get("/api/v1/staff/phrasings").get_json()["phrasings"]
    assert [p["id"] for p in listed] == [proposal["id"]]
    # HR edits it to the plain wording; a phone number typed back in is redacted again.
    res = client.post(f"/api/v1/staff/phrasings/{proposal['id']}",
                      json={"decision": "approve", "text": f"{WORDING}，打 13800001111"})
    assert res.status_code == 200, res.get_json()
    assert res.get_json()["status"] == "approved"
    text = case_file.read_text(encoding="utf-8")
    added = [line for line in text.splitlines() if line not in original.splitlines()]
    assert len(added) == 1 and added[0].startswith("- " + WORDING) and "13800001111" not in added[0]
    # Everything else is as HR left it, in the same order: comments, other phrasings, the body.
    assert [line for line in text.splitlines() if line != added[0]] == original.splitlines()
    assert text.splitlines().index(added[0]) < text.splitlines().index("resolved: '2026-01-20'")
    assert client.post(f"/api/v1/staff/phrasings/{proposal['id']}", json={"decision": "reject"}).status_code == 409

    build(load_config(kb / "kb.yml"))
    after = client.post("/api/v1/suggest", json={"q": WORDING}).get_json()
    assert after["confident"] and after["results"][0]["id"] == CASE


def test_the_guard_flags_a_phrasing_that_would_win_another_articles_questions(learning_app, kb: Path):
    client = learning_app.test_client()
    case_file = kb / "content" / "cases" / f"{CASE}.md"
    original = case_file.read_text(encoding="utf-8")
    # Linked to the wrong article: the wording is the water dispenser's.
    number = resolved(client, "饮水机没有热水，接不到热水泡面。")
    res = client.post(f"/api/v1/staff/complaints/{number}/link", json={"article_id": CASE})
    proposal = res.get_json()
    assert "water-dispenser-not-working" in {c["article_id"] for c in proposal["conflicts"]}
    res = client.post(f"/api/v1/staff/phrasings/{proposal['id']}", json={"decision": "approve"})
    assert res.status_code == 409
    assert any(e["message"].startswith("water-dispenser-not-working: ") for e in res.get_json()["errors"])
    assert case_file.read_text(encoding="utf-8") == original  # nothing written
    # Edited into a wording of its own, it passes the guard.
    res = client.post(f"/api/v1/staff/phrasings/{proposal['id']}", json={"decision": "approve", "text": WORDING})
    assert res.status_code == 200, res.get_json()
    assert f"- {WORDING}" in case_file.read_text(encoding="utf-8")

    # Linking to an SOP or an unknown id is refused by field.
    res = client.post(f"/api/v1/staff/complaints/{number}/link", json={"article_id": "no-such-article"})
    assert res.status_code == 400 and res.get_json()["errors"][0]["field"] == "article_id"


@pytest.mark.backend("postgresql")  # a build's work, not the database's
def test_a_malformed_case_file_is_named_with_its_line_and_left_untouched(learning_app, kb: Path):
    client = learning_app.test_client()
    number = resolved(client, f"{WORDING}。")
    proposal = client.post(f"/api/v1/staff/complaints/{number}/link", json={"article_id": CASE}).get_json()
    case_file = kb / "content" / "cases" / f"{CASE}.md"
    broken = case_file.read_text(encoding="utf-8").replace("category: canteen\n", "category: [canteen\n", 1)
    case_file.write_text(broken, encoding="utf-8")
    res = client.post(f"/api/v1/staff/phrasings/{proposal['id']}", json={"decision": "approve"})
    assert res.status_code == 400
    message = res.get_json()["errors"][0]["message"]
    assert f"{CASE}.md:" in message and "not valid YAML" in message
    assert case_file.read_text(encoding="utf-8") == broken
    assert client.get("/api/v1/staff/phrasings").get_json()["phrasings"][0]["status"] == "proposed"


def test_false_deflections_and_content_gaps_come_from_real_events(learning_app, db_url: str):
    from intake_api.db import get_session
    from intake_api.metrics import Period, content_gaps, deflection

    client = learning_app.test_client()
    for token in (TOKEN, "another-browser-0000000000"):
        res = client.post("/api/v1/deflections", json={"article_id": CASE, "query": "饭菜是凉的",
                                                       "browser_token": token})
        assert res.status_code == 201, res.get_json()
    # A week-old deflection from the same browser is past the window: it stays a deflection, and its hash goes.
    client.post("/api/v1/deflections", json={"article_id": CASE, "query": "汤是温的", "browser_token": TOKEN})
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    last = query_db(db_url, "SELECT max(id) FROM deflections")[0][0]
    execute(db_url, "UPDATE deflections SET created_at = :at WHERE id = :id", at=old.replace(tzinfo=None), id=last)
    bad = client.post("/api/v1/deflections", json={"article_id": CASE, "browser_token": "x<script>"})
    assert bad.status_code == 400 and bad.get_json()["errors"][0]["field"] == "browser_token"

    # The same browser complains: its recent deflection was false. No confident suggestion was on screen.
    body = dict(COMPLAINT, category="canteen", description="饭菜还是凉的，文章的办法没用", browser_token=TOKEN,
                confident_at_submit=False, shown_articles=[CASE], disclosure="anonymous")
    assert client.post("/api/v1/complaints", json=body).status_code == 201
    # Another complaint submitted with a confident suggestion on screen is no content gap.
    assert client.post("/api/v1/complaints", json=dict(COMPLAINT, confident_at_submit=True,
                                                       shown_articles=["water-dispenser-not-working"])).status_code == 201

    with learning_app.app_context():
        session = get_session()
        now = dt.datetime.now(dt.UTC)
        period = Period("now", now - dt.timedelta(days=30), now + dt.timedelta(hours=1))
        figures = deflection(session, period, dt.UTC)
        gaps = content_gaps(session, period)["complaints_without_match"]
    assert figures["deflections"] == 3 and figures["complaints"] == 2 and figures["false_deflections"] == 1
    assert figures["honest_rate"] == round(2 / 5, 3)
    assert gaps == {"canteen": 1}
    # The token itself is stored nowhere; its hash only on deflections inside the window.
    hashes = query_db(db_url, "SELECT browser_hash FROM deflections ORDER BY id")
    assert hashes[2] == (None,) and all(h and TOKEN not in h for (h,) in hashes[:2])
    assert not [c for (c,) in query_db(db_url, "SELECT description FROM complaints") if TOKEN in c]
    # The review says it beside the rate.
    api_login(client, "hr")
    signals = client.get(f"/api/v1/staff/articles/{CASE}/signals").get_json()
    assert signals["false_deflections"] == 1 and signals["passed"] == 1
    assert {s["query"] for s in signals["to_it"]["solved"]} == {"饭菜是凉的", "汤是温的"}
    assert [p["query"] for p in signals["past_it"]] == ["饭菜还是凉的，文章的办法没用"]
    # A "this solved it" text is proposed as a phrasing too, for HR to approve like a handler's link: once for
    # both browsers, and not at all when it is one of the article's phrasings already (汤是温的 is).
    proposals = client.get("/api/v1/staff/phrasings").get_json()["phrasings"]
    assert [(p["text"], p["proposed_by"]) for p in proposals] == [("饭菜是凉的", "deflection")]
    assert client.post("/api/v1/events", json={"kind": "article_opened", "article_ids": [CASE]}).status_code == 201
    assert client.get(f"/api/v1/staff/articles/{CASE}/signals").get_json()["opened"] == 1


def test_the_workspace_links_and_approves_through_the_same_desk(learning_app, kb: Path):
    import re

    client = learning_app.test_client()
    number = resolved(client, f"{WORDING}。")
    client.post("/staff/login", data={"username": "hr", "password": PASSWORD})
    page = client.get(f"/staff/complaints/{number}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert f'<option value="{CASE}">' in page  # the candidates the suggest search finds
    res = client.post(f"/staff/complaints/{number}/link", data={"csrf_token": token, "article_id": CASE})
    assert res.status_code == 302
    page = client.get("/staff/phrasings").get_data(as_text=True)
    pid = re.search(r'id="phrasing-(\d+)"', page).group(1)
    assert f'value="{WORDING}。"' in page  # whole sentences of the complaint
    res = client.post(f"/staff/phrasings/{pid}", data={"csrf_token": token, "decision": "approve",
                                                       "text": WORDING + "<b>"})
    assert res.status_code == 302
    assert f"- {WORDING}<b>" in (kb / "content" / "cases" / f"{CASE}.md").read_text(encoding="utf-8")
    page = client.get(f"/staff/articles/{CASE}").get_data(as_text=True)
    assert f"<q>{WORDING}&lt;b&gt;</q> (approved)" in page  # escaped where shown


def test_the_kb_commands_link_and_approve_through_the_same_desk(learning_app, kb: Path, db_url: str, monkeypatch):
    from click.testing import CliRunner

    from kb_builder.cli import main

    number = resolved(learning_app.test_client(), f"{WORDING}。")
    learning_app.extensions["db_engine"].dispose()
    monkeypatch.setenv("KB_DATABASE_URL", db_url)

    def kb_command(*args: str) -> str:
        res = CliRunner().invoke(main, ["--config", str(kb / "kb.yml"), *args])
        assert "Traceback" not in res.output
        return res.output.strip() if res.exit_code == 0 else "failed: " + res.output.strip().splitlines()[-1]

    assert kb_command("link", number, CASE).startswith(f"Proposed phrasing 1 for {CASE}: {WORDING}")
    assert kb_command("link", number, "sop-nope") == "failed: Error: 参数有误"
    assert kb_command("phrasings", "list") == f"1\t{CASE}\t{WORDING}。"
    assert kb_command("phrasings", "approve", "1") == f"Approved phrasing 1: added to {CASE}. Run `kb build`."
    assert f"- {WORDING}。" in (kb / "content" / "cases" / f"{CASE}.md").read_text(encoding="utf-8")
    assert kb_command("phrasings", "reject", "1").startswith("failed: Error: 这条措辞已批准")
    # Purged at retention, a complaint's proposals that HR did not approve go with its text.
    assert kb_command("link", number, "water-dispenser-not-working").startswith("Proposed phrasing 2")
    execute(db_url, "UPDATE complaints SET status = 'closed', closed_at = :at",
            at=dt.datetime(2020, 1, 1))
    assert kb_command("purge").startswith("Purged 1 closed complaints")
    assert query_db(db_url, "SELECT id, status FROM phrasings") == [(1, "approved")]


def test_a_solved_click_proposes_its_query_and_a_false_one_withdraws_it(learning_app, kb: Path, db_url: str):
    import hashlib

    client = learning_app.test_client()
    cold, plain = "中午的菜端到桌上就凉透了，电话13912345678", "午饭一点都不热"
    other = "7d0e4c1a-5b6f-4a2e-8c3d-9e0f1a2b3c4d"

    def solved(query: str, token: str) -> None:
        res = client.post("/api/v1/deflections", json={"article_id": CASE, "query": query, "browser_token": token})
        assert res.status_code == 201, res.get_json()

    def listed(status: str = "proposed") -> list[tuple[str, str]]:
        return [(p["text"], p["proposed_by"]) for p in
                client.get(f"/api/v1/staff/phrasings?status={status}").get_json()["phrasings"]]

    solved(cold, TOKEN)
    solved(cold, other)          # the same text from another browser supports the same proposal
    solved(plain, TOKEN)
    solved("饭菜不热", other)     # one of the article's phrasings already: nothing to propose
    api_login(client, "hr")
    assert listed() == [("午饭一点都不热", "deflection"), ("中午的菜端到桌上就凉透了，电话[电话]", "deflection")]
    # The proposal keeps no identity: neither the token nor its hash is anywhere in its row.
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    rows = query_db(db_url, "SELECT * FROM phrasings")
    assert not [v for row in rows for v in row if isinstance(v, str) and (TOKEN in v or digest in v)]
    assert query_db(db_url, "SELECT phrasing_id FROM deflections ORDER BY id") == [(1,), (1,), (2,), (None,)]

    # The first browser complains: both its clicks were false. The proposal only it made is withdrawn; the
    # one the other browser's click still supports stays for HR.
    body = dict(COMPLAINT, category="canteen", description="菜还是凉的", browser_token=TOKEN, disclosure="anonymous")
    assert client.post("/api/v1/complaints", json=body).status_code == 201
    assert listed() == [("中午的菜端到桌上就凉透了，电话[电话]", "deflection")]
    assert listed("withdrawn") == [("午饭一点都不热", "deflection")]
    res = client.post("/api/v1/staff/phrasings/2", json={"decision": "approve"})
    assert res.status_code == 409 and "已撤回" in res.get_json()["error"]  # the requester's language (zh here)
    # A click from a browser that did not complain proposes it again (the same row: it is deduplicated).
    solved(plain, "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9")
    assert [p for p in listed()] == [("午饭一点都不热", "deflection"), ("中午的菜端到桌上就凉透了，电话[电话]", "deflection")]
    # Approval goes through the same queue, guard and in-place edit as a handler's link.
    case_file = kb / "content" / "cases" / f"{CASE}.md"
    before = case_file.read_text(encoding="utf-8").splitlines()
    res = client.post("/api/v1/staff/phrasings/2", json={"decision": "approve"})
    assert res.status_code == 200, res.get_json()
    after = case_file.read_text(encoding="utf-8").splitlines()
    assert [line for line in after if line not in before] == ["- 午饭一点都不热"]
    # A sensitive matter proposes nothing and keeps no text.
    solved("组长经常对我动手动脚，还说下流的话", other)
    assert len(listed()) == 1 and query_db(db_url, "SELECT query, phrasing_id FROM deflections ORDER BY id DESC")[0] == ("", None)


def test_the_reviews_article_table_shows_what_use_says(learning_app, db_url: str):
    import re

    from intake_api import report
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    from intake_api.metrics import Period

    client = learning_app.test_client()
    for query, token in (("饭菜是凉的", TOKEN), ("饭菜是凉的", "another-browser-0000000000"), ("午饭一点都不热", None)):
        client.post("/api/v1/deflections", json={"article_id": CASE, "query": query, "browser_token": token})
    body = dict(COMPLAINT, category="canteen", description="饭菜还是凉的，文章的办法没用", browser_token=TOKEN,
                shown_articles=[CASE, "canteen-food-runs-out"], disclosure="anonymous")
    assert client.post("/api/v1/complaints", json=body).status_code == 201
    number = resolved(client, f"{WORDING}。")
    api_login(client, "wang")
    assert client.post(f"/api/v1/staff/complaints/{number}/link", json={"article_id": CASE}).status_code == 201

    with learning_app.test_request_context():
        from intake_api.desk import Actor
        from intake_api.web import desk

        session = get_session()
        create_staff(session, "er", PASSWORD, "relations", [])
        session.commit()
        now = dt.datetime.now(dt.UTC)
        data = desk().review(Actor.operator(), Period("now", now - dt.timedelta(days=30), now + dt.timedelta(hours=1)))
    rows = {a["article"]: a for a in data["articles"]}
    # 3 clicks, 1 false; led to it: 2 distinct queries and the handler's link; led past it: the complaint.
    assert {k: rows[CASE][k] for k in ("deflections", "false_deflections", "led_to", "led_past")} == {
        "deflections": 3, "false_deflections": 1, "led_to": 3, "led_past": 1}
    assert rows["canteen-food-runs-out"]["led_past"] == 1 and rows["canteen-food-runs-out"]["deflections"] == 0
    text = report.markdown(data, None, "en", signals="/staff/articles/{article}")
    assert ("| Article | “This solved it” clicks | False deflections | Phrasings that led to it | Led past it to a "
            "complaint | Votes | Helpful |") in text
    assert re.search(r"\| \[[^\]]+\]\(/staff/articles/canteen-food-cold\) \| 3 \| 1 \| 3 \| 1 \| 0 \| — \|", text)
    assert "/staff/articles/" not in report.markdown(data, None, "zh")  # files and mail: no workspace links
    # In the workspace, HR's table links each article to the phrasings themselves; employee relations' does not.
    api_login(client, "hr")
    assert f'href="/staff/articles/{CASE}"' in client.get("/staff/report").get_data(as_text=True)
    relations = learning_app.test_client()
    api_login(relations, "er")
    page = relations.get("/staff/report").get_data(as_text=True)
    assert "Phrasings that led to it" in page or "引向它的说法" in page
    assert "/staff/articles/" not in page


@pytest.mark.backend("sqlite")  # a build's work, not the database's
def test_an_sop_is_linked_and_its_file_gains_questions_in_place(learning_app, kb: Path):
    from kb_builder.build import build
    from kb_builder.config import load_config

    client = learning_app.test_client()
    sop = kb / "content" / "sops" / "check-status.md"
    original = sop.read_text(encoding="utf-8").replace("tags:\n", "tags:  # HR 的注释\n", 1)
    sop.write_text(original, encoding="utf-8")
    asked = "查询码忘记了"
    before = client.post("/api/v1/suggest", json={"q": asked}).get_json()
    assert not before["results"] or before["results"][0]["id"] != "sop-check-status"
    number = resolved(client, asked)
    api_login(client, "wang")
    res = client.post(f"/api/v1/staff/complaints/{number}/link", json={"article_id": "sop-check-status"})
    assert res.status_code == 201, res.get_json()
    assert client.post(f"/api/v1/staff/complaints/{number}/link",
                       json={"article_id": "sop-../cases/canteen-food-cold"}).status_code == 400
    api_login(client, "hr")
    res = client.post(f"/api/v1/staff/phrasings/{res.get_json()['id']}", json={"decision": "approve"})
    assert res.status_code == 200, res.get_json()
    text = sop.read_text(encoding="utf-8")
    # The SOP had no questions: the list is added at the end of its header; every other line is as HR left it.
    head = text.split("---\n")[1].splitlines()
    assert head[-2:] == ["questions:", f"- {asked}"]
    assert [line for line in text.splitlines() if line not in ("questions:", f"- {asked}")] == original.splitlines()
    # A second approved phrasing goes under the same list.
    number = resolved(client, "提交后那串字母数字码找不到了")
    api_login(client, "wang")
    pid = client.post(f"/api/v1/staff/complaints/{number}/link", json={"article_id": "sop-check-status"}).get_json()["id"]
    api_login(client, "hr")
    res = client.post(f"/api/v1/staff/phrasings/{pid}", json={"decision": "approve"})
    assert res.status_code == 200, res.get_json()
    assert sop.read_text(encoding="utf-8").split("---\n")[1].splitlines()[-3:] == [
        "questions:", f"- {asked}", "- 提交后那串字母数字码找不到了"]

    build(load_config(kb / "kb.yml"))  # the build accepts the SOP's questions and searches them
    after = client.post("/api/v1/suggest", json={"q": asked}).get_json()
    assert after["results"] and after["results"][0]["id"] == "sop-check-status"


def test_an_articles_signals_count_every_event_however_busy_the_site(learning_app, db_url: str):
    """Opens and submissions past an article are counted over all events, not the newest few thousand."""
    from intake_api.db import get_session
    from intake_api.learning import OPENED, PASSED, signals
    from intake_api.models import AnalyticsEvent
    with learning_app.app_context():
        session = get_session()
        mine = [AnalyticsEvent(kind=OPENED, article_ids=["water-dispenser-not-working"]) for _ in range(3)]
        mine += [AnalyticsEvent(kind=PASSED, query="饮水机还是坏的", article_ids=["x", "water-dispenser-not-working"])]
        look_alike = [AnalyticsEvent(kind=OPENED, article_ids=["water-dispenser-not-working-2"])]
        session.add_all(mine + look_alike)
        session.add_all([AnalyticsEvent(kind=OPENED, article_ids=["vpn-cannot-connect"]) for _ in range(5200)])
        session.commit()
        found = signals(session, "water-dispenser-not-working")
        assert (found["opened"], found["passed"]) == (3, 1)
        assert [p["query"] for p in found["past_it"]] == ["饮水机还是坏的"]
        assert signals(session, "vpn-cannot-connect")["opened"] == 5200
        assert signals(session, "%")["opened"] == signals(session, "water_dispenser%")["opened"] == 0  # literal
