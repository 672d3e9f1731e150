"""One complaint through every state of the workflow, through the API, with SLA dates checked."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from conftest import COMPLAINT, api_login, query_db

SH = ZoneInfo("Asia/Shanghai")


def plain_workdays_after(day, n, holidays, workdays):
    """An independent count of working days (the test's own, not the product's)."""
    while n:
        day += dt.timedelta(days=1)
        if day in workdays or (day.weekday() < 5 and day not in holidays):
            n -= 1
    return day


@pytest.fixture
def calendar():
    """Tomorrow and the day after are holidays; the next Saturday after them is a make-up day."""
    today = dt.datetime.now(SH).date()
    holidays = [today + dt.timedelta(days=1), today + dt.timedelta(days=2)]
    saturday = holidays[-1] + dt.timedelta(days=(5 - holidays[-1].weekday()) % 7 or 7)
    return {"country": "none", "holidays": holidays, "workdays": [saturday]}


@pytest.fixture
def process_app(built_kb, db_url, calendar):
    from intake_api import create_app
    return create_app({"KB_CONFIG": str(built_kb / "kb.yml"), 
                       "KB_OVERRIDES": {"database_url": db_url, "process.calendar": calendar}})


def parse(ts):
    return dt.datetime.fromisoformat(ts)


def test_one_complaint_walks_through_every_state(process_app, calendar, db_url):
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    with process_app.app_context():
        create_staff(get_session(), "wang", "correct horse battery staple", "handler", ["facilities"])
        get_session().commit()
    client = process_app.test_client()
    hol, wd = set(calendar["holidays"]), set(calendar["workdays"])

    ack = client.post("/api/v1/complaints", json=COMPLAINT).get_json()
    number, code = ack["number"], ack["tracking_code"]
    received = parse(ack["received_at"])
    assert parse(ack["assessment_due_at"]) == received + dt.timedelta(hours=24)
    expected_first = plain_workdays_after(received.astimezone(SH).date(), 3, hol, wd)
    assert parse(ack["first_response_due_at"]).astimezone(SH).date() == expected_first
    assert ack["team"] == "facilities"
    assert number in ack["acknowledgement"] and expected_first.isoformat() in ack["acknowledgement"]

    token = api_login(client, "wang")
    headers = {"X-CSRFToken": token}

    def act(action, **body):
        res = client.post(f"/api/v1/staff/complaints/{number}/{action}", json=body, headers=headers)
        return res.status_code, res.get_json()

    def status_is(expected):
        assert client.get(f"/api/v1/complaints/{code}").get_json()["status"] == expected

    status_is("received")
    # Illegal jumps are refused with a message naming what is allowed.
    code_, body = act("status", status="resolved")
    assert code_ == 409 and body["error"] == "不能从“已受理”改为“已反馈结果”；下一步可以是：已评估, 已升级"  # labels

    assert act("status", status="assessed", note="合理，影响一层楼")[0] == 200
    assert act("assign", handler="wang")[0] == 200
    assert act("status", status="investigating")[0] == 200
    assert act("status", status="escalated", note="需要供应商配合")[0] == 200
    assert act("status", status="investigating")[0] == 200
    code_, body = act("status", status="resolved")
    assert code_ == 409 and "反馈结果前请先填写给投诉人的答复" in body["error"]
    assert act("response", text="已更换加热模块，饮水机恢复正常。")[0] == 200
    code_, body = act("investigation-ended")
    ended = parse(body["dates"]["investigation_ended_at"])
    expected_result = plain_workdays_after(ended.astimezone(SH).date(), 7, hol, wd)
    assert parse(body["dates"]["result_due_at"]).astimezone(SH).date() == expected_result
    assert act("status", status="resolved")[0] == 200
    status_is("resolved")

    # The complainant is unhappy: the complaint reopens.
    res = client.post(f"/api/v1/complaints/{code}/rating", json={"score": 1, "comment": "第二天又坏了"})
    assert res.status_code == 200 and res.get_json()["status"] == "reopened"
    assert act("status", status="investigating")[0] == 200
    assert act("response", text="已整机更换。")[0] == 200
    assert act("status", status="resolved")[0] == 200
    res = client.post(f"/api/v1/complaints/{code}/rating", json={"score": 5})
    assert res.get_json()["status"] == "resolved"
    assert act("status", status="closed")[0] == 200
    status_is("closed")
    assert act("status", status="reopened")[0] == 200
    status_is("reopened")

    history = client.get(f"/api/v1/staff/complaints/{number}", headers=headers).get_json()["history"]
    statuses = [(h["from"], h["to"]) for h in history if h["action"] == "status"]
    assert statuses == [("received", "assessed"), ("assessed", "investigating"), ("investigating", "escalated"),
                        ("escalated", "investigating"), ("investigating", "resolved"), ("resolved", "reopened"),
                        ("reopened", "investigating"), ("investigating", "resolved"), ("resolved", "closed"),
                        ("closed", "reopened")]
    assert {h["actor"] for h in history} == {"complainant", "system", "staff:wang"}
    # History rows are only ever appended: one per change, in the database too.
    assert query_db(db_url, "SELECT count(*) FROM complaint_events")[0][0] == len(history)


def test_safety_words_make_a_complaint_urgent_and_raise_an_alert(client, db_url, caplog):
    res = client.post("/api/v1/complaints", json=dict(COMPLAINT, description="二楼配电间漏电，有同事触电受伤"))
    body = res.get_json()
    assert body["level"] == 1
    assert parse(body["resolution_due_at"]) == parse(body["received_at"]) + dt.timedelta(hours=24)
    assert "级别：紧急" in body["acknowledgement"]
    assert query_db(db_url, "SELECT kind FROM alerts") == [("safety",)]
    assert f"ALERT safety category=facilities complaints={body['number']}" in caplog.text


def test_hot_pot_is_not_a_fire(client, db_url):
    body = client.post("/api/v1/complaints", json=dict(COMPLAINT, category="canteen",
                                                       description="食堂的火锅太辣了，希望有清汤")).get_json()
    assert body["level"] == 3 and body["team"] == "canteen"
    assert query_db(db_url, "SELECT count(*) FROM alerts") == [(0,)]


def test_keyword_rules_route_before_categories(client):
    body = client.post("/api/v1/complaints", json=dict(COMPLAINT, category="process",
                                                       description="VPN 一直连不上，申请流程也没人管")).get_json()
    assert body["team"] == "it"


def test_public_form_cannot_claim_an_offline_channel(client, db_url):
    res = client.post("/api/v1/complaints", json=dict(COMPLAINT, channel="hotline"))
    assert res.status_code == 400 and res.get_json()["errors"][0]["field"] == "channel"
    assert query_db(db_url, "SELECT count(*) FROM complaints") == [(0,)]


def test_rating_before_the_result_is_refused(client):
    code = client.post("/api/v1/complaints", json=COMPLAINT).get_json()["tracking_code"]
    res = client.post(f"/api/v1/complaints/{code}/rating", json={"score": 4})
    assert res.status_code == 409
    res = client.post(f"/api/v1/complaints/{code}/rating", json={"score": 9})
    assert res.status_code == 400 and res.get_json()["errors"][0]["field"] == "score"


def test_overdue_and_due_soon_lists(app, client, make_staff):
    """A complaint received 30 hours ago is overdue for assessment; an urgent one is due soon."""
    from intake_api import process
    from intake_api.db import get_session
    from intake_api.schemas import ComplaintIn
    kb = app.config["KB"]
    with app.app_context():
        session = get_session()
        data = ComplaintIn.model_validate(COMPLAINT, context={"categories": kb.category_ids})
        old, _ = process.register(session, kb, app.extensions["kb_clock"], data,
                                  now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=30))
        session.commit()
        old_number = old.number
    fresh = client.post("/api/v1/complaints", json=COMPLAINT).get_json()["number"]
    make_staff("boss", "admin")
    api_login(client, "boss")
    overdue = client.get("/api/v1/staff/complaints?due=overdue").get_json()["complaints"]
    assert [c["number"] for c in overdue] == [old_number]
    assert overdue[0]["next_deadline"]["kind"] == "assessment" and overdue[0]["overdue"] is True
    soon = [c["number"] for c in client.get("/api/v1/staff/complaints?due=soon").get_json()["complaints"]]
    assert soon == []  # assessment due in 24 h, beyond the 8 h warning
    with app.app_context():
        session = get_session()
        from intake_api.models import Complaint
        from sqlalchemy import select
        c = session.scalar(select(Complaint).where(Complaint.number == fresh))
        c.assessment_due_at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)
        session.commit()
    soon = [c["number"] for c in client.get("/api/v1/staff/complaints?due=soon").get_json()["complaints"]]
    assert soon == [fresh]


def test_migrations_match_the_models(tmp_path):
    """Alembic's history builds exactly the schema the models describe."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from intake_api.db import make_engine, upgrade
    from intake_api.models import Base
    engine = make_engine(f"sqlite:///{tmp_path}/m.db")
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
