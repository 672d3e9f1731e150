"""The staff workspace pages: login, queue filters, actions by form, CSRF, escaping, two languages."""

import datetime as dt
import re

import pytest

from conftest import COMPLAINT, PASSWORD, token_of


@pytest.fixture
def csrf_app(built_kb, db_url):
    from intake_api import create_app
    return create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "KB_OVERRIDES": {"database_url": db_url}})


def login(client, username="wang"):
    page = client.get("/staff/login").get_data(as_text=True)
    res = client.post("/staff/login", data={"username": username, "password": PASSWORD, "csrf_token": token_of(page)})
    assert res.status_code == 302
    return token_of(client.get("/staff/").get_data(as_text=True))


@pytest.fixture
def staffed(csrf_app):
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    with csrf_app.app_context():
        create_staff(get_session(), "wang", PASSWORD, "handler", ["facilities", "hazards"], display_name="王工")
        create_staff(get_session(), "boss", PASSWORD, "admin", [])
        get_session().commit()
    return csrf_app.test_client()


def test_login_form_without_csrf_token_is_refused(staffed):
    res = staffed.post("/staff/login", data={"username": "wang", "password": PASSWORD})
    assert res.status_code == 400


def test_wrong_password_shows_an_error(staffed):
    page = staffed.get("/staff/login").get_data(as_text=True)
    res = staffed.post("/staff/login", data={"username": "wang", "password": "nope", "csrf_token": token_of(page)})
    assert res.status_code == 401 and "用户名或密码错误" in res.get_data(as_text=True)


def test_queue_filters_and_actions_by_form(staffed):
    urgent = staffed.post("/api/v1/complaints", json=dict(COMPLAINT, description="茶水间漏电，有人触电")).get_json()
    general = staffed.post("/api/v1/complaints", json=COMPLAINT).get_json()
    token = login(staffed)
    page = staffed.get("/staff/").get_data(as_text=True)
    # Urgent first.
    assert page.index(urgent["number"]) < page.index(general["number"])
    page = staffed.get("/staff/?level=1").get_data(as_text=True)
    assert urgent["number"] in page and general["number"] not in page
    page = staffed.get("/staff/?due=overdue").get_data(as_text=True)
    assert urgent["number"] not in page and "没有符合条件的投诉" in page

    n = general["number"]
    res = staffed.post(f"/staff/complaints/{n}/status", data={"status": "assessed", "csrf_token": token})
    assert res.status_code == 302
    page = staffed.get(f"/staff/complaints/{n}").get_data(as_text=True)
    assert "已评估" in page and "已保存" in page
    # Without the token the change is refused and nothing changes.
    res = staffed.post(f"/staff/complaints/{n}/status", data={"status": "investigating"})
    assert res.status_code == 400
    assert "调查处理中" not in staffed.get(f"/staff/complaints/{n}").get_data(as_text=True).split('id="status"')[1][:40]
    # An illegal change is explained, in the page's language.
    staffed.post(f"/staff/complaints/{n}/status", data={"status": "closed", "csrf_token": token})
    page = staffed.get(f"/staff/complaints/{n}").get_data(as_text=True)
    assert "不能从“已评估”改为“已结案”" in page and "Cannot go from" not in page
    staffed.get("/staff/?lang=en")
    staffed.post(f"/staff/complaints/{n}/status", data={"status": "closed", "csrf_token": token})
    page = staffed.get(f"/staff/complaints/{n}").get_data(as_text=True)
    assert "Cannot go from “Assessed” to “Closed”" in page and "不能从" not in page  # labels, never ids
    # The history too: what happened and the values by their labels, never the ids stored.
    history = page.split('id="history"')[1]
    assert "<td>Status</td>" in history and "Received → Assessed" in history and "<td>Complaint received</td>" in history
    assert not re.search(r"<td>(status|created|team)</td>|received → assessed", history)
    staffed.get("/staff/?lang=zh-Hant")
    history = staffed.get(f"/staff/complaints/{n}").get_data(as_text=True).split('id="history"')[1]
    assert "<td>狀態</td>" in history and "<td>status</td>" not in history


def test_user_written_text_is_escaped(staffed):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    body = staffed.post("/api/v1/complaints", json=dict(COMPLAINT, description="饮水机坏了" + evil,
                                                        location=evil, identity={"name": evil})).get_json()
    login(staffed, "boss")
    for url in ("/staff/", f"/staff/complaints/{body['number']}"):
        html = staffed.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html


def test_offline_complaint_recorded_by_staff(staffed, db_url):
    from conftest import query_db
    token = login(staffed)
    res = staffed.post("/staff/new", data={"csrf_token": token, "channel": "hotline", "category": "facilities",
                                           "description": "电话反映：二楼男厕所堵了", "request": "尽快疏通",
                                           "occurred_at": "2026-11-24", "location": "B 栋 2 楼", "name": "来电员工"})
    html = res.get_data(as_text=True)
    code = re.search(r'id="tracking-code"[^>]*>([A-Z2-7-]+)<', html).group(1)
    rows = query_db(db_url, "SELECT channel, name, entered_by_id FROM complaints")
    assert rows[0][0] == "hotline" and rows[0][2] is not None
    assert "来电员工" not in rows[0][1]  # encrypted at rest
    number = re.search(r"(TS-\d{4}-\d{6})", html).group(1)
    assert "来电员工" in staffed.get(f"/staff/complaints/{number}").get_data(as_text=True)
    assert staffed.get(f"/api/v1/complaints/{code}").status_code == 200
    res = staffed.post("/staff/new", data={"csrf_token": token, "channel": "hotline", "category": "nope"})
    assert "未知分类" in res.get_data(as_text=True)


def test_pages_in_chinese_and_english(staffed):
    login(staffed)
    assert "投诉队列" in staffed.get("/staff/").get_data(as_text=True)
    html = staffed.get("/staff/?lang=en").get_data(as_text=True)
    assert "Queue" in html and "投诉队列" not in html
    assert 'lang="en"' in staffed.get("/staff/alerts").get_data(as_text=True)


def test_workspace_warns_while_the_next_year_has_no_official_calendar(staffed, monkeypatch):
    from test_sla import first_uncovered_year

    from intake_api.sla import Clock
    gap = first_uncovered_year()
    login(staffed, "boss")  # admins are told, and where to add the days (tests/test_holidays.py: handlers are not)
    monkeypatch.setattr(Clock, "today", lambda clock: dt.date(gap - 1, 12, 20))
    page = staffed.get("/staff/").get_data(as_text=True)
    assert f"{gap} 年的法定节假日尚未收录" in page and "节假日日历" in page
    assert "The official holidays for" in staffed.get("/staff/?lang=en").get_data(as_text=True)
    monkeypatch.setattr(Clock, "today", lambda clock: dt.date(gap - 1, 6, 1))
    assert "尚未收录" not in staffed.get("/staff/?lang=zh").get_data(as_text=True)
