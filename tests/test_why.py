"""Why this article: each suggestion says which phrasing or title matched and which terms are shared (issue 16, point 7)."""

from __future__ import annotations

import html

from conftest import COMPLAINT, PASSWORD
from test_workspace import login


def test_the_api_says_which_phrasing_and_terms_brought_each_article_up(built_kb, tmp_path):
    from intake_api import create_app

    client = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "KB_OVERRIDES": {"database_url": f"sqlite:///{tmp_path / 'c.db'}"},
                         "TESTING": True, "RATELIMIT_ENABLED": False}).test_client()
    body = client.get("/api/v1/suggest", query_string={"q": "茶水间的饮水机不出水了"}).get_json()
    first = body["results"][0]
    assert first["id"] == "water-dispenser-not-working"
    assert first["why"]["matched"] == "phrasing" and first["why"]["phrasing"] in ("饮水机不出水", "茶水间的饮水机又坏了")
    assert "饮水机" in first["why"]["terms"] and 0 < first["why"]["similarity"] <= 1
    # Only terms of the text itself are claimed as shared, in every result.
    from kb_builder.analysis import tokens

    other = client.get("/api/v1/suggest", query_string={"q": "我的电脑登录不了公司内网", "all": "1"}).get_json()
    assert other["results"] and all(set(r["why"]["terms"]) <= set(tokens("我的电脑登录不了公司内网"))
                                    for r in other["results"])
    assert any(r["why"]["terms"] == [] for r in other["results"])  # meaning alone brought this one up


def test_the_workspace_shows_staff_why_an_article_came_up_escaped(built_kb, db_url):
    from intake_api import create_app
    from intake_api.auth import create_staff
    from intake_api.db import get_session

    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "KB_OVERRIDES": {"database_url": db_url}})
    with app.app_context():
        create_staff(get_session(), "wang", PASSWORD, "handler", ["facilities"], display_name="王工")
        get_session().commit()
    client = app.test_client()
    text = "茶水间的饮水机不出水了 <script>alert(1)</script>"
    number = client.post("/api/v1/complaints", json=dict(COMPLAINT, description=text)).get_json()["number"]
    login(client)
    page = client.get(f"/staff/complaints/{number}").get_data(as_text=True)
    why = page.split('id="why"')[1].split("</ul>")[0]
    assert "饮水机坏了、不出水或不出热水怎么办" in html.unescape(why)
    assert "饮水机" in why and "<script>" not in page
