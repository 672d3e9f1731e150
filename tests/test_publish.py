"""Closing the loop: a complaint becomes a redacted article that the form then suggests."""

import re

import pytest
from conftest import PASSWORD, api_login, token_of



@pytest.mark.backend("postgresql")  # a build's work, not the database's
def test_a_resolved_complaint_becomes_a_redacted_article_that_is_suggested(kb_tree, db_url):
    from intake_api import create_app
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    from kb_builder.build import build
    from kb_builder.config import load_config

    cfg = load_config(kb_tree / "kb.yml")
    build(cfg)
    # A handler's approval publishes here (publishing.second_approval: tests/test_publishing.py has the default).
    app = create_app({"KB_CONFIG": str(kb_tree / "kb.yml"),
                      "KB_OVERRIDES": {"database_url": db_url, "publishing.second_approval": False}})
    with app.app_context():
        create_staff(get_session(), "liu", PASSWORD, "handler", ["facilities"], display_name="刘建国")
        get_session().commit()
    client = app.test_client()
    problem = "四号楼电梯按钮失灵，按了没反应，经常停在半层"
    assert all("elevator" not in r["id"] for r in client.get("/api/v1/suggest", query_string={"q": problem}).get_json()["results"])

    ack = client.post("/api/v1/complaints", json={
        "category": "facilities", "description": f"{problem}。我是财务部周晓梅，电话 13912345678，工号 A20231234",
        "request": "尽快修好", "occurred_at": "2026-11-20", "location": "四号楼", "identity": {"name": "周晓梅"}}).get_json()
    number = ack["number"]
    headers = {"X-CSRFToken": api_login(client, "liu")}
    for action, body in [("status", {"status": "assessed"}), ("status", {"status": "investigating"}),
                         ("response", {"text": "刘建国联系物业更换了四号楼电梯的按钮面板和控制板，已恢复正常。"}),
                         ("status", {"status": "resolved"})]:
        assert client.post(f"/api/v1/staff/complaints/{number}/{action}", json=body, headers=headers).status_code == 200

    page = client.get(f"/staff/complaints/{number}/article").get_data(as_text=True)
    form = page[page.index('id="article-form"'):]  # the header shows the logged-in staff name
    assert "周晓梅" not in form and "13912345678" not in form and "A20231234" not in form and "刘建国" not in form
    assert "[电话]" in form and "[姓名]" in form
    draft_body = re.search(r'<textarea id="body"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    # The editor replaces the cause placeholder; a phone number typed back in is removed again.
    body = (draft_body.replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"')
            .replace("（请补充调查发现的原因）", "按钮面板老化，控制板接触不良。有事打 13800001111"))
    res = client.post(f"/staff/complaints/{number}/article", data={
        "csrf_token": token_of(page), "action": "save", "title": "电梯按钮失灵、停在半层怎么办",
        "tags": "电梯, 报修", "questions": "电梯按钮失灵\n电梯停在半层\n按电梯没反应", "body": body})
    assert res.status_code == 302
    case_file = kb_tree / "content" / "cases" / f"{number.lower()}.md"
    text = case_file.read_text(encoding="utf-8")
    assert "published: false" in text
    for secret in ("周晓梅", "13912345678", "A20231234", "刘建国", "13800001111"):
        assert secret not in text

    # A draft is not on the site.
    build(cfg)
    ids = [r["id"] for r in client.get("/api/v1/suggest", query_string={"q": "电梯按钮失灵"}).get_json()["results"]]
    assert number.lower() not in ids

    page = client.get(f"/staff/complaints/{number}/article").get_data(as_text=True)
    client.post(f"/staff/complaints/{number}/article", data={
        "csrf_token": token_of(page), "action": "approve", "title": "电梯按钮失灵、停在半层怎么办",
        "tags": "电梯, 报修", "questions": "电梯按钮失灵\n电梯停在半层\n按电梯没反应", "body": body})
    assert "published: true" in case_file.read_text(encoding="utf-8")
    build(cfg)
    top = client.get("/api/v1/suggest", query_string={"q": "电梯按钮按了没反应"}).get_json()["results"][0]
    assert top["id"] == number.lower()
    page = (kb_tree / "site" / "faq" / "facilities" / number.lower() / "index.html").read_text(encoding="utf-8")
    for secret in ("周晓梅", "13912345678", "A20231234", "刘建国", "13800001111"):
        assert secret not in page
    history = client.get(f"/api/v1/staff/complaints/{number}", headers=headers).get_json()["history"]
    assert [h["action"] for h in history][-2:] == ["article_draft", "article_published"]
