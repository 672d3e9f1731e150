"""Hostile input and abuse: rate limits, oversized bodies, headers, injection attempts."""

import pytest

from conftest import COMPLAINT, PASSWORD, query_db


def test_tracking_code_lookups_are_rate_limited(client):
    codes = [f"AAAA-BBBB-CCCC-{i:04d}".replace("0", "A").replace("1", "B") for i in range(40)]
    statuses = [client.get(f"/api/v1/complaints/{c}").status_code for c in codes]
    assert statuses[:30] == [404] * 30
    assert statuses[30:] == [429] * 10


def test_login_brute_force_is_slowed(client, make_staff):
    make_staff("wang")
    answers = [client.post("/api/v1/staff/login", json={"username": "wang", "password": f"guess-{i}"}).status_code
               for i in range(7)]
    assert answers[:5] == [401] * 5 and answers[5:] == [429, 429]
    # Even the right password waits until the window passes.
    assert client.post("/api/v1/staff/login", json={"username": "wang", "password": PASSWORD}).status_code == 429


def test_oversized_bodies_get_413(client, db_url):
    res = client.post("/api/v1/complaints", data="x" * (70 * 1024), content_type="application/json")
    assert res.status_code == 413 and res.get_json()["ok"] is False
    assert query_db(db_url, "SELECT count(*) FROM complaints") == [(0,)]


@pytest.mark.parametrize("path", ["/api/v1/meta", "/", "/staff/login", "/api/v1/nothing"])
def test_security_headers_on_every_response(client, path):
    res = client.get(path)
    assert "default-src" in res.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in res.headers["Content-Security-Policy"]
    assert res.headers["X-Frame-Options"] == "DENY"
    assert res.headers["X-Content-Type-Options"] == "nosniff"


def test_sql_injection_attempts_are_inert(client, db_url):
    payload = "x'); DROP TABLE complaints; --"
    res = client.post("/api/v1/complaints", json=dict(COMPLAINT, description=payload, location=payload))
    assert res.status_code == 201
    assert client.get("/api/v1/complaints/' OR '1'='1").status_code == 404
    assert client.get("/api/v1/suggest", query_string={"q": "饮水机' OR 1=1 --"}).status_code in (200, 503)
    assert client.post("/api/v1/staff/login", json={"username": "' OR '1'='1", "password": "' OR '1'='1"}).status_code == 401
    assert query_db(db_url, "SELECT description FROM complaints") == [(payload,)]


def test_a_retried_submission_is_stored_once(client, db_url):
    first = client.post("/api/v1/complaints", json=COMPLAINT, headers={"Idempotency-Key": "form-123"})
    again = client.post("/api/v1/complaints", json=COMPLAINT, headers={"Idempotency-Key": "form-123"})
    other = client.post("/api/v1/complaints", json=COMPLAINT, headers={"Idempotency-Key": "form-456"})
    assert first.status_code == again.status_code == other.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["tracking_code"] == first.get_json()["tracking_code"]
    assert again.get_json()["number"] == first.get_json()["number"] != other.get_json()["number"]
    assert query_db(db_url, "SELECT count(*) FROM complaints") == [(2,)]
    # The stored tracking code is encrypted, like identities.
    assert first.get_json()["tracking_code"] not in str(query_db(db_url, "SELECT code FROM idempotency_keys"))


def test_a_retry_leaves_no_trace_and_an_old_key_still_answers(client, db_url):
    from sqlalchemy import text
    first = client.post("/api/v1/complaints", json=COMPLAINT, headers={"Idempotency-Key": "form-old"})
    events = query_db(db_url, "SELECT count(*) FROM complaint_events")
    # Kept past a day (the purge has not run yet): a retry still gets the first answer, not an error.
    with client.application.extensions["db_engine"].begin() as conn:
        conn.execute(text("UPDATE idempotency_keys SET created_at = :old"), {"old": "2026-01-01 00:00:00"})
    again = client.post("/api/v1/complaints", json=COMPLAINT, headers={"Idempotency-Key": "form-old"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["number"] == first.get_json()["number"]
    # The retry's own attempt was rolled back whole: no second complaint, no events of its own.
    assert query_db(db_url, "SELECT count(*) FROM complaints") == [(1,)]
    assert query_db(db_url, "SELECT count(*) FROM complaint_events") == events


def test_concurrent_retries_across_workers_create_one_complaint(live_server, live_db_url):
    import json
    import threading
    import urllib.request
    answers = []

    def send():
        req = urllib.request.Request(live_server + "/api/v1/complaints", method="POST",
                                     headers={"Content-Type": "application/json", "Idempotency-Key": "same-key"},
                                     data=json.dumps(COMPLAINT).encode())
        answers.append(json.loads(urllib.request.urlopen(req, timeout=20).read())["number"])

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 8 and len(set(answers)) == 1
    assert query_db(live_db_url, "SELECT count(*) FROM complaints") == [(1,)]


def test_nul_characters_are_refused_at_the_edge(client, db_url):
    res = client.post("/api/v1/complaints", json=dict(COMPLAINT, description="饮水机\u0000坏了"))
    assert res.status_code == 400 and "NUL" in res.get_json()["error"]
    assert client.post("/api/v1/staff/login", json={"username": "a\u0000", "password": "x"}).status_code == 400
    assert client.get("/api/v1/suggest?q=%00").status_code == 400
    assert query_db(db_url, "SELECT count(*) FROM complaints") == [(0,)]


@pytest.mark.backend("sqlite")
def test_rate_limits_hold_across_workers_with_redis(built_kb, db_url, monkeypatch):
    """Two gunicorn workers, one Redis: the 31st look-up within a minute is refused whichever worker gets it."""
    import sys
    import urllib.error
    import urllib.request
    import uuid
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import load
    monkeypatch.setenv("KB_RATELIMIT_STORAGE", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("KB_RATELIMIT_PREFIX", f"kbtest-{uuid.uuid4().hex}")
    server = load.Server(built_kb / "kb.yml", db_url, workers=2, rate_limits=True)
    try:
        statuses = []
        for _ in range(34):
            try:
                # A new connection each time, so the requests spread over both workers.
                urllib.request.urlopen(f"http://127.0.0.1:{server.port}/api/v1/complaints/AAAA-AAAA-AAAA-AAAA")
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
    finally:
        server.stop()
    assert statuses[:30] == [404] * 30 and statuses[30:] == [429] * 4


def _lookups_until_limited(client, forwarded_for: str) -> list[int]:
    return [client.get(f"/api/v1/complaints/AAAA-BBBB-CCCC-DDD{c}",
                       headers={"X-Forwarded-For": forwarded_for},
                       environ_base={"REMOTE_ADDR": "10.0.0.5"}).status_code for c in "ABCDEFGHJKLMNPQRSTUVWXYZ2345678"]


def test_behind_a_trusted_proxy_each_employee_has_their_own_rate_limit(built_kb, db_url):
    """Behind the web server every request comes from its address; X-Forwarded-For tells employees apart."""
    from intake_api import create_app

    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "TESTING": True,
                      "KB_OVERRIDES": {"database_url": db_url, "server.trusted_proxies": 1}})
    try:
        client = app.test_client()
        first = _lookups_until_limited(client, "192.168.1.20")
        assert first[:30] == [404] * 30 and first[30] == 429
        # Another employee through the same proxy is not throttled by the first.
        assert client.get("/api/v1/complaints/AAAA-BBBB-CCCC-DDDD", headers={"X-Forwarded-For": "192.168.1.21"},
                          environ_base={"REMOTE_ADDR": "10.0.0.5"}).status_code == 404
    finally:
        app.extensions["db_engine"].dispose()


def test_without_a_trusted_proxy_x_forwarded_for_cannot_dodge_the_limit(client):
    """By default the header is ignored: a client cannot pick a new address for each try."""
    first = _lookups_until_limited(client, "192.168.1.20")
    assert first[30] == 429
    assert client.get("/api/v1/complaints/AAAA-BBBB-CCCC-DDDD", headers={"X-Forwarded-For": "192.168.1.99"},
                      environ_base={"REMOTE_ADDR": "10.0.0.5"}).status_code == 429


def _login_cookie(client, **kwargs) -> str:
    res = client.post("/api/v1/staff/login", json={"username": "wang", "password": PASSWORD}, **kwargs)
    assert res.status_code == 200, res.get_json()
    return next(h for h in res.headers.getlist("Set-Cookie") if h.startswith("session="))


def test_staff_session_cookie_is_secure_over_https(app, make_staff, built_kb, db_url):
    """HTTPS directly or through a trusted proxy: Secure; plain http (make run on 127.0.0.1): still works."""
    from intake_api import create_app

    make_staff("wang")
    plain = _login_cookie(app.test_client())
    assert "HttpOnly" in plain and "Secure" not in plain
    assert "Secure" in _login_cookie(app.test_client(), base_url="https://kb.example")
    # A forged X-Forwarded-Proto means nothing without a trusted proxy...
    assert "Secure" not in _login_cookie(app.test_client(), headers={"X-Forwarded-Proto": "https"})
    proxied = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "TESTING": True,
                          "KB_OVERRIDES": {"database_url": db_url, "server.trusted_proxies": 1}})
    try:  # ...and is the scheme the employee used behind one.
        assert "Secure" in _login_cookie(proxied.test_client(), headers={"X-Forwarded-Proto": "https"})
    finally:
        proxied.extensions["db_engine"].dispose()


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/api/v1/meta").headers
    assert client.get("/api/v1/meta", base_url="https://kb.example").headers["Strict-Transport-Security"] \
        == "max-age=31536000"
    assert "Strict-Transport-Security" in client.get("/", base_url="https://kb.example").headers


def test_health_says_ready_with_database_and_index(client):
    res = client.get("/api/v1/health")
    body = res.get_json()
    assert res.status_code == 200 and body["ok"] is True
    assert body["database"] == "ok" and body["index"] == "ok" and body["articles"] > 10 and body["semantic"] is True


def test_health_names_what_is_wrong_and_no_address(built_kb, db_url, tmp_path):
    """A node without its index, or without its database, must be taken out of the pool (503)."""
    from intake_api import create_app

    no_index = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "TESTING": True,
                           "KB_OVERRIDES": {"database_url": db_url, "paths.index": str(tmp_path / "not-shipped")}})
    try:
        res = no_index.test_client().get("/api/v1/health")
        assert res.status_code == 503
        assert res.get_json()["database"] == "ok" and "kb build" in res.get_json()["index"]
    finally:
        no_index.extensions["db_engine"].dispose()
    unreachable = "postgresql+psycopg://postgres@127.0.0.1:1/nothing-here"
    no_db = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "KB_OVERRIDES": {"database_url": unreachable},
                        "TESTING": True,
                        "DB_AUTO_MIGRATE": False})
    res = no_db.test_client().get("/api/v1/health")
    assert res.status_code == 503
    body = res.get_json()
    assert body["index"] == "ok" and "KB_DATABASE_URL" in body["database"]
    assert "127.0.0.1" not in res.get_data(as_text=True) and "nothing-here" not in res.get_data(as_text=True)


def test_a_database_that_never_answers_fails_fast(built_kb):
    """A server that accepts the connection and then says nothing (a hung or failing-over database)."""
    import socket
    import time

    from intake_api import create_app
    from intake_api.db import CONNECT_TIMEOUT

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever answers
        url = f"postgresql+psycopg://postgres@127.0.0.1:{silent.getsockname()[1]}/test"
        app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "KB_OVERRIDES": {"database_url": url}, "TESTING": True,
                          "DB_AUTO_MIGRATE": False})
        start = time.monotonic()
        res = app.test_client().get("/api/v1/health")
        waited = time.monotonic() - start
    assert res.status_code == 503 and "KB_DATABASE_URL" in res.get_json()["database"]
    assert CONNECT_TIMEOUT - 1 < waited < CONNECT_TIMEOUT + 10
