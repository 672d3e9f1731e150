"""Abuse of the desk's edges: the review, usage events, logins, sessions, idempotency keys."""

import re
import threading
import urllib.error
import urllib.request
import json

import pytest
from click.testing import CliRunner

from conftest import COMPLAINT, PASSWORD, api_login, start_kb_serve, stop_kb_serve

XSS = "<img src=x onerror=alert(1)>[点我](javascript:alert(2))"


def _no_active_content(html: str, where: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)", html, re.I), where
    assert not re.search(r"<[a-z]+[^>]*\son[a-z]+\s*=", html, re.I), where
    assert not re.search(r"""(href|src)\s*=\s*["']?\s*javascript:""", html, re.I), where


def _hostile_quarter(client):
    """Department names, search texts and cluster texts with markup, enough of each to pass the small-count rule."""
    for i in range(6):
        assert client.post("/api/v1/complaints", json=dict(
            COMPLAINT, description=f"饮水机又坏了 {XSS} 第{i}次", disclosure="named",
            identity={"name": "张三", "department": "<b onmouseover=alert(3)>财务部</b>[x](javascript:alert(4))"})).status_code == 201
    for _ in range(5):  # a search with no result shows from min_group_size people
        assert client.post("/api/v1/events", json={"kind": "search", "query": f"停车 {XSS}", "result_count": 0}).status_code == 201


def test_the_review_is_inert_in_the_workspace_and_in_its_file(client, make_staff, app, db_url, tmp_path, monkeypatch):
    from kb_builder.cli import main
    _hostile_quarter(client)
    make_staff("boss", "admin")
    api_login(client, "boss")
    page = client.get("/staff/report").get_data(as_text=True)
    _no_active_content(page, "/staff/report")
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "onmouseover" not in page  # the complainant's own department is identity: never in the review
    monkeypatch.setenv("KB_DATABASE_URL", db_url)
    quarter = re.search(r'<option value="([^"]+)" selected>', page).group(1)
    out = tmp_path / "reports"
    res = CliRunner().invoke(main, ["--config", app.config["KB"].root.joinpath("kb.yml").as_posix(), "report",
                                    "--quarter", quarter, "--out", str(out)])
    assert res.exit_code == 0, res.output
    html = (out / f"report-{quarter}.html").read_text(encoding="utf-8")
    _no_active_content(html, "report file")
    assert "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'" in html
    assert "onmouseover" not in html and "停车" in html


def test_events_accept_only_pages_of_the_built_site_and_known_articles(client, db_url):
    from conftest import query_db
    good = client.post("/api/v1/events", json={"kind": "page_feedback", "page": "/faq/facilities/water-dispenser-not-working/", "value": 1})
    assert good.status_code == 201
    for page in ("javascript:alert(1)", "https://evil.example/faq/", "//evil.example/", "/faq/../../etc/passwd",
                 "/faq/nothing-here/", f"/faq/{XSS}/", "/.kb-csp.json", "faq/facilities/"):
        res = client.post("/api/v1/events", json={"kind": "page_feedback", "page": page, "value": 1})
        assert res.status_code == 400 and res.get_json()["errors"][0]["field"] == "page", page
    res = client.post("/api/v1/events", json={"kind": "suggestions_shown", "article_ids": ["water-dispenser-not-working", XSS]})
    assert res.status_code == 400 and res.get_json()["errors"][0]["field"] == "article_ids"
    assert query_db(db_url, "SELECT page FROM analytics_events") == [("/faq/facilities/water-dispenser-not-working/",)]


def test_an_idempotency_key_replays_only_the_same_submission(client, db_url):
    from conftest import query_db
    headers = {"Idempotency-Key": "retry-1"}
    first = client.post("/api/v1/complaints", json=COMPLAINT, headers=headers)
    again = client.post("/api/v1/complaints", json=dict(reversed(list(COMPLAINT.items()))), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json()["tracking_code"] == first.get_json()["tracking_code"]
    other = client.post("/api/v1/complaints", json=dict(COMPLAINT, description="另一件事：食堂的菜太咸了"), headers=headers)
    assert other.status_code == 409
    body = other.get_json()
    assert body["errors"][0]["field"] == "Idempotency-Key"
    assert first.get_json()["tracking_code"] not in other.get_data(as_text=True)
    assert first.get_json()["number"] not in other.get_data(as_text=True)
    assert query_db(db_url, "SELECT count(*) FROM complaints") == [(1,)]


def test_the_username_limit_counts_normalised_names_over_both_logins(client, make_staff):
    make_staff("wang")
    spellings = ["wang", " WANG ", "ｗａｎｇ", "Wang\u3000", "w a n g"]
    html_token = lambda: re.search(r'name="csrf_token" value="([^"]+)"',  # noqa: E731
                                   client.get("/staff/login").get_data(as_text=True)).group(1)
    answers = []
    for i, name in enumerate(spellings):
        if i % 2:
            answers.append(client.post("/staff/login", data={"username": name, "password": "nope-nope-1",
                                                             "csrf_token": html_token()}).status_code)
        else:
            answers.append(client.post("/api/v1/staff/login", json={"username": name, "password": "nope"}).status_code)
    assert answers == [401] * 5
    assert client.post("/api/v1/staff/login", json={"username": "ＷＡＮＧ", "password": PASSWORD}).status_code == 429
    res = client.post("/staff/login", data={"username": "wang", "password": PASSWORD, "csrf_token": html_token()})
    assert res.status_code == 429


def test_a_full_width_username_logs_in_to_the_same_account(client, make_staff):
    make_staff("wang")
    res = client.post("/api/v1/staff/login", json={"username": "ｗａｎｇ ", "password": PASSWORD})
    assert res.status_code == 200 and res.get_json()["username"] == "wang"


def test_login_limits_hold_across_two_workers(built_kb, db_url):
    """Two gunicorn workers, the embedded default store: 40 guesses from one address get 10 tries, not 40."""
    proc, url = start_kb_serve(built_kb / "kb.yml", db_url, KB_RATELIMIT_ENABLED="1")
    statuses = []
    lock = threading.Lock()

    def guess(i):
        req = urllib.request.Request(url + "/api/v1/staff/login", method="POST", headers={
            "Content-Type": "application/json", "Connection": "close"},
            data=json.dumps({"username": f"user{i}", "password": "guess"}).encode())
        try:
            urllib.request.urlopen(req, timeout=10)
            code = 200
        except urllib.error.HTTPError as exc:
            code = exc.code
        with lock:
            statuses.append(code)
    try:
        threads = [threading.Thread(target=guess, args=(i,)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        stop_kb_serve(proc)
    assert sorted(statuses).count(401) == 10 and statuses.count(429) == 30


def test_logging_out_ends_the_session_on_the_server(app, make_staff):
    make_staff("wang", "handler", ["facilities"])
    client = app.test_client()
    token = api_login(client, "wang")
    cookie = client.get_cookie("session").value
    assert client.get("/api/v1/staff/complaints").status_code == 200
    assert client.post("/api/v1/staff/logout").status_code == 200
    # A copy of the old cookie and its token, replayed from elsewhere.
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert thief.get("/api/v1/staff/complaints", headers={"X-CSRFToken": token}).status_code == 401
    assert thief.post("/api/v1/staff/complaints", json=COMPLAINT, headers={"X-CSRFToken": token}).status_code in (400, 401)
    assert thief.get("/staff/").status_code == 302


def test_the_session_cookie_is_samesite_lax(client, make_staff):
    make_staff("wang")
    res = client.post("/api/v1/staff/login", json={"username": "wang", "password": PASSWORD})
    cookie = res.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie
