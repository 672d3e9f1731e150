"""Who may see and change what: each role, and nobody without logging in."""

import pytest

from conftest import COMPLAINT, PASSWORD, api_login


@pytest.fixture
def complaints(client):
    fac = client.post("/api/v1/complaints", json=COMPLAINT).get_json()
    it = client.post("/api/v1/complaints", json=dict(COMPLAINT, category="it-access", description="新员工没有系统账号权限")).get_json()
    return fac, it


STAFF_GETS = ["/api/v1/staff/complaints", "/api/v1/staff/complaints/{n}", "/api/v1/staff/alerts"]
STAFF_POSTS = ["status", "assign", "level", "responsibility", "response", "investigation-ended"]
PAGES = ["/staff/", "/staff/complaints/{n}", "/staff/new", "/staff/alerts"]


def test_nothing_for_staff_without_login(client, complaints):
    n = complaints[0]["number"]
    for url in STAFF_GETS:
        res = client.get(url.format(n=n))
        assert res.status_code == 401 and res.get_json()["ok"] is False
    for action in STAFF_POSTS:
        assert client.post(f"/api/v1/staff/complaints/{n}/{action}", json={}).status_code in (400, 401)
    for page in PAGES:
        res = client.get(page.format(n=n))
        assert res.status_code == 302 and "/staff/login" in res.headers["Location"]


def test_staff_api_requests_need_the_csrf_token_reads_included(client, make_staff, complaints):
    """A script on a site page rides on the staff cookie but never has the token (boundary.py)."""
    make_staff("wang", "handler", ["facilities"])
    api_login(client, "wang")
    token = client.environ_base.pop("HTTP_X_CSRFTOKEN")
    n = complaints[0]["number"]
    res = client.post(f"/api/v1/staff/complaints/{n}/status", json={"status": "assessed"})
    assert res.status_code == 403 and "X-CSRFToken" in res.get_json()["error"]
    for url in STAFF_GETS:
        res = client.get(url.format(n=n))
        assert res.status_code == 403 and "X-CSRFToken" in res.get_json()["error"], url
        assert client.get(url.format(n=n), headers={"X-CSRFToken": "forged"}).status_code == 403
        assert client.get(url.format(n=n), headers={"X-CSRFToken": token}).status_code == 200


def test_workspace_pages_are_served_only_to_a_navigation(client, make_staff, complaints):
    """fetch() and frames get nothing to read, so the token in a workspace page stays out of a script's reach."""
    make_staff("wang", "handler", ["facilities"])
    api_login(client, "wang")
    n = complaints[0]["number"]
    for page in PAGES:
        url = page.format(n=n)
        nav = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "same-origin"}
        assert client.get(url, headers=nav).status_code == 200, url
        assert client.get(url).status_code == 200  # no Fetch Metadata at all: a non-browser client
        for mode, dest in (("cors", "empty"), ("same-origin", "empty"), ("no-cors", "empty"),
                           ("navigate", "iframe"), ("navigate", "object")):
            res = client.get(url, headers={"Sec-Fetch-Mode": mode, "Sec-Fetch-Dest": dest})
            assert res.status_code == 403, (url, mode, dest)
            assert b"csrf" not in res.data.lower()


def test_a_handler_sees_only_their_teams(client, make_staff, complaints):
    make_staff("wang", "handler", ["facilities"])
    fac, it = complaints
    token = api_login(client, "wang")
    numbers = [c["number"] for c in client.get("/api/v1/staff/complaints").get_json()["complaints"]]
    assert numbers == [fac["number"]]
    assert client.get(f"/api/v1/staff/complaints/{it['number']}").status_code == 404
    res = client.post(f"/api/v1/staff/complaints/{it['number']}/status", json={"status": "assessed"},
                      headers={"X-CSRFToken": token})
    assert res.status_code == 404
    assert client.get(f"/staff/complaints/{it['number']}").status_code == 404
    assert client.get(f"/staff/complaints/{fac['number']}").status_code == 200


def test_an_admin_sees_everything(client, make_staff, complaints):
    make_staff("boss", "admin")
    api_login(client, "boss")
    numbers = {c["number"] for c in client.get("/api/v1/staff/complaints").get_json()["complaints"]}
    assert numbers == {c["number"] for c in complaints}


def test_a_handler_cannot_be_given_another_teams_complaint(client, make_staff, complaints):
    make_staff("boss", "admin")
    make_staff("li", "handler", ["it"])
    token = api_login(client, "boss")
    res = client.post(f"/api/v1/staff/complaints/{complaints[0]['number']}/assign", json={"handler": "li"},
                      headers={"X-CSRFToken": token})
    assert res.status_code == 409 and "不属于团队 facilities" in res.get_json()["error"]


def test_wrong_password_and_unknown_user_look_the_same(client, make_staff):
    make_staff("wang")
    a = client.post("/api/v1/staff/login", json={"username": "wang", "password": "wrong password!"})
    b = client.post("/api/v1/staff/login", json={"username": "nobody", "password": PASSWORD})
    assert a.status_code == b.status_code == 401
    assert a.get_json() == b.get_json()


def test_passwords_are_stored_as_argon2_hashes(app, make_staff, db_url):
    from conftest import query_db
    make_staff("wang")
    (stored,) = query_db(db_url, "SELECT password_hash FROM staff_users")[0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_the_product_hashes_passwords_at_argon2s_recommended_cost():
    """In a process of its own: the suite's processes use argon2's cheap test profile (conftest.py)."""
    import subprocess
    import sys
    code = ("from intake_api.auth import hash_password, _DUMMY_HASH; "
            "print(hash_password('a long enough password')); print(_DUMMY_HASH)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    from argon2 import extract_parameters, profiles
    assert [extract_parameters(h) for h in out] == [profiles.RFC_9106_LOW_MEMORY] * 2


def test_the_complainant_sees_only_their_own_complaint(client, complaints):
    fac, it = complaints
    mine = client.get(f"/api/v1/complaints/{fac['tracking_code']}").get_json()
    assert mine["number"] == fac["number"]
    assert client.get("/api/v1/complaints/" + fac["number"]).status_code == 404
