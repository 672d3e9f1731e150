"""The intake API through Flask's test client, on a real SQLite file and the real index."""

import pytest

from conftest import query_db

GOOD = {
    "category": "facilities",
    "description": "三楼茶水间的饮水机坏了，已经两天没有热水",
    "request": "请尽快修好",
    "occurred_at": "2026-11-20",
    "location": "A 栋 3 楼茶水间",
}


def test_suggest_finds_the_water_dispenser_article(client):
    res = client.get("/api/v1/suggest", query_string={"q": "饮水机坏了"})
    assert res.status_code == 200
    top = res.get_json()["results"][0]
    assert top["id"] == "water-dispenser-not-working"
    assert top["url"] == "/faq/facilities/water-dispenser-not-working/"
    assert set(top) >= {"id", "title", "url", "snippet", "score"}
    assert "饮水机" in top["title"]


def test_suggest_in_traditional_chinese_finds_the_simplified_article(client):
    ids = [r["id"] for r in client.get("/api/v1/suggest?q=飲水機壞了").get_json()["results"]]
    assert ids[0] == "water-dispenser-not-working"


def test_suggest_answers_chinese_as_chinese_and_respects_limit(client):
    res = client.get("/api/v1/suggest?q=报销&limit=2")
    assert "报销".encode() in res.data or "報銷".encode() in res.data
    assert len(res.get_json()["results"]) <= 2


@pytest.mark.parametrize("qs, field", [("", "q"), ("q=x&limit=99", "limit"), ("q=x&limit=abc", "limit")])
def test_suggest_rejects_bad_parameters(client, qs, field):
    res = client.get("/api/v1/suggest?" + qs)
    assert res.status_code == 400
    assert [e["field"] for e in res.get_json()["errors"]] == [field]


def test_a_complaint_is_stored_and_acknowledged(client, db_url):
    res = client.post("/api/v1/complaints", json=dict(GOOD, identity={"name": "王五", "department": "财务部"},
                                                      shown_articles=["water-dispenser-not-working"]))
    assert res.status_code == 201
    body = res.get_json()
    code = body["tracking_code"]
    assert len(code.replace("-", "")) == 16
    assert body["number"].startswith("TS-")
    assert body["number"] in body["acknowledgement"]
    rows = query_db(db_url, "SELECT number, category, description, name, status, level, tracking_hash FROM complaints")
    assert len(rows) == 1
    number, category, description, name, status, level, stored_hash = rows[0]
    assert (number, category, description, status, level) == (
        body["number"], "facilities", GOOD["description"], "received", 3)
    # Identity is encrypted at rest: the raw column holds a Fernet token, not the name.
    assert name.startswith("gAAAA") and "王五" not in name
    # The code itself is never stored, only its hash.
    assert code not in stored_hash and code.replace("-", "") not in stored_hash


def test_tracking_codes_are_unique_and_unguessable(client):
    codes = {client.post("/api/v1/complaints", json=GOOD).get_json()["tracking_code"] for _ in range(20)}
    assert len(codes) == 20
    assert client.get("/api/v1/complaints/AAAA-AAAA-AAAA-AAAA").status_code == 404


def test_status_shows_progress_but_no_identity(client):
    code = client.post("/api/v1/complaints", json=dict(GOOD, identity={"name": "李四", "contact": "lisi@example.com"})).get_json()["tracking_code"]
    res = client.get(f"/api/v1/complaints/{code.lower().replace('-', '')}")
    assert res.status_code == 200
    body = res.get_json()
    assert body["status"] == "received"
    text = res.get_data(as_text=True)
    assert "李四" not in text and "lisi@example.com" not in text
    assert not {"name", "contact", "department", "position", "identity", "description"} & set(body)


def test_anonymous_complaint_keeps_no_identity(client, db_url):
    assert client.post("/api/v1/complaints", json=dict(GOOD, anonymous=True)).status_code == 201
    assert client.post("/api/v1/complaints", json=dict(GOOD, channel="anonymous_platform")).status_code == 201
    rows = query_db(db_url, "SELECT anonymous, name, department, position, contact FROM complaints")
    assert rows == [(1, None, None, None, None)] * 2


def test_invalid_complaint_lists_every_field_and_stores_nothing(client, db_url):
    bad = {"category": "plumbing", "description": "坏", "anonymous": True, "identity": {"name": "张三"},
           "occurred_at": "yesterday", "colour": "red"}
    res = client.post("/api/v1/complaints", json=bad, headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert res.status_code == 400
    errors = {e["field"]: e["message"] for e in res.get_json()["errors"]}
    assert set(errors) == {"category", "description", "request", "occurred_at", "location", "identity", "colour"}
    assert "Unknown category 'plumbing'" in errors["category"]
    assert errors["request"] == "This field is required"
    # The requester's language (Accept-Language), field names unchanged; Simplified Chinese when none is given.
    res = client.post("/api/v1/complaints", json=bad, headers={"Accept-Language": "zh-TW,en;q=0.5"})
    errors = {e["field"]: e["message"] for e in res.get_json()["errors"]}
    assert errors["request"] == "必填" and errors["category"].startswith("未知分類")
    assert res.headers["Content-Language"] == "zh-Hant" and "Accept-Language" in res.headers["Vary"]
    errors = {e["field"]: e["message"] for e in client.post("/api/v1/complaints", json=bad).get_json()["errors"]}
    assert errors["category"].startswith("未知分类") and res.get_json()["error"] != errors["category"]
    assert query_db(db_url, "SELECT count(*) FROM complaints") == [(0,)]


def test_non_json_body_is_refused(client, db_url):
    res = client.post("/api/v1/complaints", data="not json", content_type="text/plain")
    assert res.status_code == 400
    assert query_db(db_url, "SELECT count(*) FROM complaints") == [(0,)]


def test_a_deflection_is_recorded(client, db_url):
    res = client.post("/api/v1/deflections", json={"article_id": "water-dispenser-not-working", "query": "饮水机坏了"})
    assert res.status_code == 201
    assert query_db(db_url, "SELECT article_id, query FROM deflections") == [("water-dispenser-not-working", "饮水机坏了")]


def test_a_deflection_for_an_unknown_article_is_refused(client, db_url):
    res = client.post("/api/v1/deflections", json={"article_id": "no-such-article"})
    assert res.status_code == 400
    assert res.get_json()["errors"][0]["field"] == "article_id"
    assert query_db(db_url, "SELECT count(*) FROM deflections") == [(0,)]


def test_meta_lists_the_configured_categories(client):
    ids = [c["id"] for c in client.get("/api/v1/meta").get_json()["categories"]]
    assert "facilities" in ids and "shuttle" in ids


def test_the_built_site_is_served_beside_the_api(client):
    assert "员工服务知识库" in client.get("/").get_data(as_text=True)
    page = client.get("/faq/facilities/water-dispenser-not-working/")
    assert page.status_code == 200 and "饮水机" in page.get_data(as_text=True)
    assert client.get("/no/such/page/").status_code == 404
    assert client.get("/../kb.yml").status_code == 404


def test_unknown_api_paths_answer_json(client):
    res = client.get("/api/v1/nothing")
    assert res.status_code == 404 and res.get_json()["ok"] is False


def test_missing_index_answers_503(built_kb, db_url, tmp_path):
    from intake_api import create_app
    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), 
                      "KB_OVERRIDES": {"database_url": db_url, "paths.index": str(tmp_path / "no-index")}})
    res = app.test_client().get("/api/v1/suggest?q=饮水机")
    assert res.status_code == 503 and "kb build" in res.get_json()["error"]
