"""Who a complaint is about, and conflicts of interest: no one handles a complaint about their own department."""

import re

import pytest
from conftest import COMPLAINT, PASSWORD, api_login


@pytest.fixture
def staffed(app):
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    with app.app_context():
        s = get_session()
        create_staff(s, "boss", PASSWORD, "admin", [])
        create_staff(s, "chef", PASSWORD, "handler", ["canteen"], department="canteen",
                     known_departments=app.config["KB"].process.department_ids)
        create_staff(s, "cook", PASSWORD, "handler", ["canteen"])  # no department recorded: its team's
        create_staff(s, "clerk", PASSWORD, "handler", ["canteen"], department="finance")
        s.commit()
    return app


def submit(client, **fields):
    res = client.post("/api/v1/complaints", json=dict(COMPLAINT, **fields))
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def history(client, number, token=None):
    return client.get(f"/api/v1/staff/complaints/{number}").get_json()["history"]


def test_the_form_offers_the_departments_and_refuses_an_unknown_one(client):
    meta = client.get("/api/v1/meta").get_json()
    assert {"id": "canteen", "zh": "餐饮中心", "en": "Catering", "label": "餐饮中心"} in meta["departments"]
    english = client.get("/api/v1/meta", headers={"Accept-Language": "en"}).get_json()
    assert {"id": "canteen", "zh": "餐饮中心", "en": "Catering", "label": "Catering"} in english["departments"]
    res = client.post("/api/v1/complaints", json=dict(COMPLAINT, about_department="mars"))
    assert res.status_code == 400 and res.get_json()["errors"][0]["field"] == "about_department"


def test_a_conduct_complaint_about_a_department_never_goes_to_its_own_team(staffed):
    client = staffed.test_client()
    # Service attitude has no team of its own: the HR desk by default, but this one is about HR's people.
    got = submit(client, category="service", description="人事部办入职手续的同事态度很差，问两句就不耐烦",
                 about_department="hr", about_role="入职专员")
    assert got["team"] == "relations"
    api_login(client, "boss")
    routed = [h for h in history(client, got["number"]) if h["action"] == "team"]
    assert "不能由其本部门团队处理" in routed[0]["note"]
    # The same complaint about another department stays where the category sends it.
    other = submit(client, category="service", description="财务报销窗口的同事态度很差", about_department="finance")
    assert other["team"] == "hr-desk"


def test_a_member_of_the_department_complained_about_is_not_assigned(staffed):
    client = staffed.test_client()
    got = submit(client, category="canteen", description="食堂今天的菜是馊的，吃了肚子不舒服的同事有好几个",
                 about_department="canteen")
    number = got["number"]
    token = api_login(client, "boss")

    def assign(**body):
        return client.post(f"/api/v1/staff/complaints/{number}/assign", json=body, headers={"X-CSRFToken": token})

    for conflicted in ("chef", "cook"):  # by the account's department; by the department's team
        res = assign(handler=conflicted)
        assert res.status_code == 409 and "利益冲突" in res.get_json()["error"], res.get_json()
    assert assign(handler="clerk").status_code == 200  # in the team, of another department
    res = assign(handler="chef", override_reason="夜班只有他在，已报备")
    assert res.status_code == 200
    note = [h for h in res.get_json()["history"] if h["action"] == "handler"][-1]["note"]
    assert "夜班只有他在" in note and "overridden" in note
    # A handler cannot override.
    client.post("/api/v1/staff/logout", headers={"X-CSRFToken": token})
    token = api_login(client, "clerk")
    res = client.post(f"/api/v1/staff/complaints/{number}/assign", json={"handler": "cook", "override_reason": "x"},
                      headers={"X-CSRFToken": token})
    assert res.status_code == 409 and "只有管理员可以忽略利益冲突" in res.get_json()["error"]


def test_the_workspace_says_why_someone_cannot_be_assigned(staffed):
    client = staffed.test_client()
    got = submit(client, category="canteen", about_department="canteen")
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/staff/login", data={"username": "boss", "password": PASSWORD, "csrf_token": token})
    page = client.get(f"/staff/complaints/{got['number']}").get_data(as_text=True)
    assert 'id="assign-conflicts"' in page
    assert "chef 属于被投诉部门“餐饮中心”" in page and "cook 属于被投诉部门" in page and "clerk 属于" not in page


def test_learning_who_it_is_about_later_moves_it_and_unassigns_the_conflicted(staffed):
    client = staffed.test_client()
    got = submit(client, category="service", description="食堂打饭的阿姨对我们很凶")  # default team: HR desk
    token = api_login(client, "boss")
    headers = {"X-CSRFToken": token}
    number = got["number"]
    # Sent to the canteen team before anyone knew it was about the canteen's people.
    assert client.post(f"/api/v1/staff/complaints/{number}/assign", json={"team": "canteen", "handler": "cook"},
                       headers=headers).status_code == 200
    res = client.post(f"/api/v1/staff/complaints/{number}/about", json={"department": "canteen", "role": "打饭窗口"},
                      headers=headers)
    assert res.status_code == 200
    d = res.get_json()
    assert d["team"] == "relations" and d["about"] == {"department": "canteen", "role": "打饭窗口"}
    assert d["handler"] is None
    assert [h["action"] for h in d["history"]][-3:] == ["about", "team", "handler"]
    res = client.post(f"/api/v1/staff/complaints/{number}/assign", json={"team": "canteen"}, headers=headers)
    assert res.status_code == 409  # back to the team complained about: only with a reason
    res = client.post(f"/api/v1/staff/complaints/{number}/assign",
                      json={"team": "canteen", "override_reason": "员工关系组同意"}, headers=headers)
    assert res.status_code == 200 and res.get_json()["team"] == "canteen"
