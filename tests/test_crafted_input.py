"""Crafted input gets a 4xx that names the field, never a 500: every route of the app, walked."""

import re

import pytest
from werkzeug.routing import IntegerConverter

from conftest import COMPLAINT, PASSWORD, api_login

DEEP = "[" * 20_000 + "]" * 20_000
HOSTILE_ARGS = {
    "level": "9" * 5000, "quarter": "0001Q1", "status": "open", "q": "x" * 3000, "due": "9" * 400,
    "team": "\u202e" * 50, "next": "/staff/\r\nSet-Cookie: evil=1", "page": "9" * 400, "limit": "-1" * 50,
}
BODIES = [
    DEEP,
    '{"a":' * 20_000 + "1" + "}" * 20_000,
    '{"category":"facilities","description":"饮水机坏了，不出热水","occurred_at":"0001-01-01"}',
    '{"category":"facilities","description":"饮水机坏了，不出热水","occurred_at":"9999-12-31"}',
    '{"category":"facilities","description":"饮水机坏了，不出热水","occurred_at":"9999-12-31T23:59:59+14:00"}',
    '{"level":' + "9" * 5000 + ',"status":"assessed","score":' + "9" * 5000 + "}",
    '{"text":' + '"x",' * 10 + "}",
    "\ufeff{}",
]


@pytest.fixture
def staffed(client, make_staff):
    make_staff("boss", "admin")
    ack = client.post("/api/v1/complaints", json=COMPLAINT).get_json()
    token = api_login(client, "boss")
    return client, ack, token


def _urls(app, ack):
    values = {"number": ack["number"], "code": ack["tracking_code"], "path": "faq/", "filename": "x.js",
              "action": "status", "article_id": "water-dispenser-not-working"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<{arg}>", values.get(arg, "x")).replace(f"<path:{arg}>", values.get(arg, "x"))
        url = re.sub(r"<[^>]+>", "x", url)
        yield rule, url


def test_every_route_answers_crafted_input_without_a_500(staffed, app):
    client, ack, token = staffed
    failures = []
    for rule, url in _urls(app, ack):
        methods = rule.methods - {"HEAD", "OPTIONS"}
        if "GET" in methods:
            res = client.get(url, query_string=HOSTILE_ARGS)
            if res.status_code >= 500:
                failures.append(("GET", url, res.status_code))
        if "POST" in methods:
            if url.endswith("/logout"):
                continue
            for body in BODIES:
                res = client.post(url, data=body.encode("utf-8"), content_type="application/json",
                                  headers={"X-CSRFToken": token})
                if res.status_code >= 500:
                    failures.append(("POST json", url, body[:40], res.status_code))
                elif url.startswith("/api/") and res.status_code >= 400:
                    assert res.get_json()["ok"] is False, (url, body[:40])
            form = {"csrf_token": token, **{k: v for k, v in HOSTILE_ARGS.items()}, "occurred_at": "0001-01-01",
                    "score": "9" * 5000, "handler": "nobody", "text": "x"}
            res = client.post(url, data=form, query_string={"next": HOSTILE_ARGS["next"]})
            if res.status_code >= 500:
                failures.append(("POST form", url, res.status_code))
    assert failures == []


def test_deep_json_names_the_problem(client):
    res = client.post("/api/v1/complaints", data=DEEP, content_type="application/json")
    assert res.status_code == 400
    body = res.get_json()
    assert body["ok"] is False and "JSON" in body["error"]


@pytest.mark.parametrize("when", ["0001-01-01", "9999-12-31", "0001-01-01T00:00:00", "9999-12-31T23:59:59"])
def test_occurred_at_far_outside_any_real_date_is_a_field_error(client, when):
    res = client.post("/api/v1/complaints", json=dict(COMPLAINT, occurred_at=when))
    assert res.status_code == 400
    assert [e["field"] for e in res.get_json()["errors"]] == ["occurred_at"]


def test_an_over_long_level_filter_is_a_field_error(staffed):
    client, _, _ = staffed
    res = client.get("/api/v1/staff/complaints", query_string={"level": "9" * 5000})
    assert res.status_code == 400 and res.get_json()["errors"][0]["field"] == "level"
    res = client.get("/api/v1/staff/complaints", query_string={"level": "99999999999999999999"})
    assert res.status_code == 400
    assert client.get("/staff/", query_string={"level": "9" * 5000}).status_code in (200, 400)


def test_a_quarter_before_any_calendar_is_refused_clearly(staffed):
    client, _, _ = staffed
    res = client.get("/staff/report", query_string={"quarter": "0001Q1"})
    assert res.status_code == 200 and "0001Q1" not in res.get_data(as_text=True).split("<form")[0]


def test_a_crlf_in_next_neither_fails_nor_escapes_the_workspace(client, make_staff):
    make_staff("wang")
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    for target in ("/staff/\r\nSet-Cookie: evil=1", "/staff\\@evil.example", "//evil.example/staff",
                   "/staff/../../x", "https://evil.example/"):
        res = client.post("/staff/login", query_string={"next": target},
                          data={"username": "wang", "password": PASSWORD, "csrf_token": token})
        assert res.status_code == 302, target
        location = res.headers["Location"]
        assert "\r" not in location and "\n" not in location and "evil" not in location
        assert location.endswith("/staff/")
        client.post("/staff/logout", data={"csrf_token": client.get("/staff/").get_data(as_text=True) and re.search(
            r'name="csrf_token" value="([^"]+)"', client.get("/staff/").get_data(as_text=True)).group(1)})
        page = client.get("/staff/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_an_id_no_column_can_hold_is_404_on_every_route(staffed, app):
    """A route's id beyond PostgreSQL's integer (or SQLite's 64 bits) is 404, never an overflow in the query."""
    client, ack, token = staffed
    body = {"decision": "reject", "note": "x", "evidence": "x", "text": "x", "status": "assessed"}
    tried = 0
    for rule in app.url_map.iter_rules():
        ints = [arg for arg, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]
        if not ints:
            continue
        for value, expect_404 in ((2**31, True), (10**20, True), (2**31 - 1, False)):
            url = rule.rule
            for arg in rule.arguments:
                url = url.replace(f"<int:{arg}>", str(value)).replace(f"<{arg}>", ack["number"])
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                tried += 1
                res = client.open(url, method=method, json=body, headers={"X-CSRFToken": token})
                assert res.status_code < 500, (method, url, res.status_code)
                if expect_404:
                    assert res.status_code == 404, (method, url, res.status_code)
    assert tried >= 30  # every id route of the API and the workspace, three values each
