"""The investigation's outcome: solutions and a promised date (its own clock), the response in three parts,
staff follow-ups kept apart from ratings, and the supervisor review after escalation."""

import datetime as dt

import pytest
from conftest import COMPLAINT, PASSWORD, api_login


@pytest.fixture
def desk_app(built_kb, db_url):
    from intake_api import create_app
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "TESTING": True, "KB_OVERRIDES": {
        "database_url": db_url, "process.satisfaction": {"low_rating": 2, "on_low": "escalate"}}})
    with app.app_context():
        s = get_session()
        create_staff(s, "fac", PASSWORD, "handler", ["facilities"], email="fac@example.org")
        create_staff(s, "sup", PASSWORD, "supervisor", ["facilities"])
        create_staff(s, "other-sup", PASSWORD, "supervisor", ["it"])
        s.commit()
    yield app
    app.extensions["db_engine"].dispose()


def resolved_complaint(client, token, **outcome):
    got = client.post("/api/v1/complaints", json=COMPLAINT).get_json()
    number, headers = got["number"], {"X-CSRFToken": token}

    def act(action, expect=200, **body):
        res = client.post(f"/api/v1/staff/complaints/{number}/{action}", json=body, headers=headers)
        assert res.status_code == expect, (action, res.get_json())
        return res.get_json()

    act("status", status="assessed")
    act("status", status="investigating")
    act("response", basis="查看了维修记录", result="已更换加热模块", followup="每月巡检一次")
    if outcome:
        act("outcome", **outcome)
    act("status", status="resolved")
    return got, act


def test_the_response_in_three_parts_is_kept_apart_and_read_as_one(desk_app):
    client = desk_app.test_client()
    token = api_login(client, "fac")
    got, act = resolved_complaint(client, token)
    status = client.get(f"/api/v1/complaints/{got['tracking_code']}").get_json()
    # Headed in the complainant's language (the complaint's), not the handler's.
    assert status["response"] == "依据：查看了维修记录\n处理结果：已更换加热模块\n后续措施：每月巡检一次"
    detail = client.get(f"/api/v1/staff/complaints/{got['number']}").get_json()
    assert detail["response"] == status["response"]


def test_a_promised_repair_runs_its_own_clock_until_kept(desk_app):
    client = desk_app.test_client()
    token = api_login(client, "fac")
    when = dt.date.today() + dt.timedelta(days=2)
    got, act = resolved_complaint(client, token, solutions=["repair", "apology"], promise_date=when.isoformat(),
                                  promise_text="更换整台饮水机")
    number = got["number"]
    row = client.get(f"/api/v1/staff/complaints/{number}").get_json()
    assert row["status"] == "resolved" and row["next_deadline"]["kind"] == "promise"
    assert row["promise"]["due_at"].startswith(when.isoformat())
    queue = client.get("/api/v1/staff/complaints").get_json()  # open work keeps a resolved, unkept promise
    assert number in [c["number"] for c in queue["complaints"]]
    act("status", expect=409, status="closed")
    act("promise-kept", note="已安装新饮水机")
    assert client.get(f"/api/v1/staff/complaints/{number}").get_json()["next_deadline"] is None
    act("status", status="closed")


def test_a_promise_past_its_date_is_reminded(desk_app):
    from intake_api.worker import Worker
    client = desk_app.test_client()
    token = api_login(client, "fac")
    when = dt.date.today() + dt.timedelta(days=1)
    resolved_complaint(client, token, solutions="delivery", promise_date=when.isoformat())
    worker = Worker(desk_app.config["KB"], desk_app.extensions["db_engine"], desk_app.extensions["kb_clock"])
    worker.schedule(now=dt.datetime.now(dt.UTC) + dt.timedelta(days=3))
    from conftest import query_db
    url = desk_app.config["KB"].db_url
    keys = [k for (k,) in query_db(url, "SELECT dedupe_key FROM outbox WHERE kind = 'overdue'")]
    assert any(":promise:" in k for k in keys), keys


def test_staff_follow_ups_are_counted_apart_from_ratings(desk_app):
    from intake_api import metrics
    from intake_api.db import get_session
    client = desk_app.test_client()
    token = api_login(client, "fac")
    got, act = resolved_complaint(client, token)
    act("follow-up", expect=409, method="carrier-pigeon")
    act("follow-up", method="phone", score=3, note="电话回访，基本满意")
    client.post(f"/api/v1/complaints/{got['tracking_code']}/rating", json={"score": 5})
    with desk_app.app_context():
        now = dt.datetime.now(dt.UTC)
        period = metrics.Period("test", now - dt.timedelta(days=1), now + dt.timedelta(days=1))
        sat = metrics.satisfaction(get_session(), period)
    assert sat["count"] == 1 and sat["average"] == 5
    assert sat["staff_recorded"] == {"count": 1, "average": 3}


def test_a_low_rating_starts_a_supervisor_review_with_its_own_limit(desk_app):
    client = desk_app.test_client()
    token = api_login(client, "fac")
    got, act = resolved_complaint(client, token)
    number, code = got["number"], got["tracking_code"]
    res = client.post(f"/api/v1/complaints/{code}/rating", json={"score": 1, "comment": "根本没修好"})
    assert res.status_code == 200
    row = client.get(f"/api/v1/staff/complaints/{number}").get_json()
    assert row["status"] == "escalated" and row["next_deadline"]["kind"] == "review"
    act("review", expect=403, outcome="upheld")  # a handler does not review their own work
    client.post("/api/v1/staff/logout", headers={"X-CSRFToken": token})

    other = desk_app.test_client()
    assert other.post(f"/api/v1/staff/complaints/{number}/review", json={"outcome": "upheld"},
                      headers={"X-CSRFToken": api_login(other, "other-sup")}).status_code == 404  # not their team

    sup = desk_app.test_client()
    headers = {"X-CSRFToken": api_login(sup, "sup")}
    res = sup.post(f"/api/v1/staff/complaints/{number}/review", json={"outcome": "arbitration"}, headers=headers)
    assert res.status_code == 409  # who arbitrated, and what they decided
    res = sup.post(f"/api/v1/staff/complaints/{number}/review", headers=headers, json={
        "outcome": "arbitration", "arbitrator": "区劳动争议调解中心", "arbitration_result": "维持原处理，另补偿 200 元"})
    assert res.status_code == 200, res.get_json()
    d = res.get_json()
    assert d["status"] == "resolved" and d["review"]["outcome"] == "arbitration"
    assert d["review"]["arbitration_by"] == "区劳动争议调解中心"
    assert [h["action"] for h in d["history"]][-2:] == ["review", "status"]


def test_reinvestigation_starts_a_new_round(desk_app):
    client = desk_app.test_client()
    token = api_login(client, "fac")
    got, act = resolved_complaint(client, token)
    client.post(f"/api/v1/complaints/{got['tracking_code']}/rating", json={"score": 2})
    sup = desk_app.test_client()
    res = sup.post(f"/api/v1/staff/complaints/{got['number']}/review", json={"outcome": "reinvestigate"},
                   headers={"X-CSRFToken": api_login(sup, "sup")})
    d = res.get_json()
    assert d["status"] == "investigating"
    assert d["dates"]["resolved_at"] is None and d["dates"]["reviewed_at"] is not None


def pdf_text(data: bytes) -> str:
    """The text of a PDF, read back as a reader would (pypdf, in the test extra)."""
    import io

    import pypdf
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_the_written_report_for_staff_and_for_the_complainant(desk_app):
    client = desk_app.test_client()
    token = api_login(client, "fac")
    got, act = resolved_complaint(client, token, solutions=["repair"],
                                  promise_date=(dt.date.today() + dt.timedelta(days=5)).isoformat(),
                                  promise_text="<script>alert(1)</script> 换新机")
    number, code = got["number"], got["tracking_code"]
    res = client.get(f"/api/v1/complaints/{code}/report.pdf")
    assert res.status_code == 200 and res.mimetype == "application/pdf"
    assert res.headers["Content-Disposition"].startswith("attachment") and res.data[:5] == b"%PDF-"
    text = pdf_text(res.data)
    assert "投诉处理报告" in text and number in text and "已更换加热模块" in text
    assert "fac" not in text  # the complainant's copy names the team, not the handler

    # Staff: printable HTML, escaped.
    page = client.get(f"/staff/complaints/{number}/report")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert client.get(f"/staff/complaints/{number}/report.pdf").data[:5] == b"%PDF-"

    # Confirmed on the status page: in the history, and once only.
    res = client.post(f"/api/v1/complaints/{code}/report", json={"decision": "confirmed"})
    assert res.status_code == 200 and res.get_json()["report_confirmation"] == "confirmed"
    assert client.post(f"/api/v1/complaints/{code}/report", json={"decision": "disputed"}).status_code == 409
    history = client.get(f"/api/v1/staff/complaints/{number}").get_json()["history"]
    assert history[-1]["action"] == "report_confirmed" and history[-1]["actor"] == "complainant"


@pytest.mark.parametrize("typed", [
    '<font color="red" size="40">假的</font> & <b>粗体</b>',     # reportlab's own paragraph markup
    '<img src="/etc/passwd" width="9"/> <para>未闭合',               # a file reference and an unclosed tag
    "<br/><br/>换行 &lt; &amp;amp; ]]> <![CDATA[x]]>",             # entities, CDATA
])
def test_the_pdf_report_shows_what_was_typed_as_text(typed):
    """reportlab reads paragraph markup: employee text is escaped, so it renders as the characters typed."""
    from intake_api.case_report import Report, pdf

    report = Report("zh-Hans", "投诉处理报告 · C-1", [("编号", typed)], [("投诉内容", typed + "\n第二行")])
    text = pdf_text(pdf(report))
    flat = "".join(text.split())
    assert "".join(typed.split()) in flat  # every character, markup included, as text
    assert "第二行" in text


def test_a_disputed_report_goes_to_supervisor_review(desk_app):
    client = desk_app.test_client()
    token = api_login(client, "fac")
    got, act = resolved_complaint(client, token)
    res = client.post(f"/api/v1/complaints/{got['tracking_code']}/report",
                      json={"decision": "disputed", "comment": "饮水机还是没有热水"})
    assert res.status_code == 200
    row = client.get(f"/api/v1/staff/complaints/{got['number']}").get_json()
    assert row["status"] == "escalated" and row["next_deadline"]["kind"] == "review"
    assert row["history"][-2]["note"] == "饮水机还是没有热水"


def test_no_report_before_the_result(desk_app):
    client = desk_app.test_client()
    got = client.post("/api/v1/complaints", json=COMPLAINT).get_json()
    assert client.get(f"/api/v1/complaints/{got['tracking_code']}/report.pdf").status_code == 409
    assert client.post(f"/api/v1/complaints/{got['tracking_code']}/report",
                       json={"decision": "confirmed"}).status_code == 409


def test_a_task_for_another_team_shows_in_its_list_not_the_complaint(desk_app):
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    with desk_app.app_context():
        create_staff(get_session(), "itguy", PASSWORD, "handler", ["it"])
        get_session().commit()
    client = desk_app.test_client()
    token = api_login(client, "fac")
    got = client.post("/api/v1/complaints", json=COMPLAINT).get_json()
    number, headers = got["number"], {"X-CSRFToken": token}
    for action, body in (("status", {"status": "assessed"}), ("status", {"status": "investigating"}),
                         ("step", {"step": "verify"}),
                         ("task", {"team": "it", "text": "查一下门禁记录", "due_date": (
                             dt.date.today() + dt.timedelta(days=2)).isoformat()})):
        res = client.post(f"/api/v1/staff/complaints/{number}/{action}", json=body, headers=headers)
        assert res.status_code == 200, res.get_json()
    task_id = res.get_json()["tasks"][0]["id"]
    assert res.get_json()["investigation_step"] == "verify"

    it = desk_app.test_client()
    it_headers = {"X-CSRFToken": api_login(it, "itguy")}
    listed = it.get("/api/v1/staff/tasks").get_json()["tasks"]
    assert [(t["id"], t["complaint"], t["text"]) for t in listed] == [(task_id, number, "查一下门禁记录")]
    assert it.get(f"/api/v1/staff/complaints/{number}").status_code == 404  # the task, not the complaint
    assert it.post(f"/api/v1/staff/tasks/{task_id}/done", json={"note": "记录已导出"}, headers=it_headers).status_code == 200
    assert it.post(f"/api/v1/staff/tasks/{task_id}/done", json={}, headers=it_headers).status_code == 409
    history = client.get(f"/api/v1/staff/complaints/{number}").get_json()["history"]
    assert [h["action"] for h in history][-3:] == ["step", "task", "task_done"]
    assert it.get("/api/v1/staff/tasks").get_json()["tasks"] == []


def test_tasks_and_reviews_are_notified_to_who_acts_on_them(desk_app):
    from conftest import plan_notifications, query_db

    from intake_api.auth import create_staff
    from intake_api.db import get_session
    with desk_app.app_context():
        create_staff(get_session(), "itguy", PASSWORD, "handler", ["it"], email="it@example.org")
        create_staff(get_session(), "sup2", PASSWORD, "supervisor", ["facilities"], email="sup@example.org")
        get_session().commit()
    client = desk_app.test_client()
    token = api_login(client, "fac")
    got, act = resolved_complaint(client, token)
    client.post(f"/api/v1/complaints/{got['tracking_code']}/rating", json={"score": 1})
    url = desk_app.config["KB"].db_url
    plan_notifications(desk_app)
    rows = query_db(url, "SELECT kind, dedupe_key FROM outbox WHERE kind = 'review_needed'")
    assert len(rows) == 1 and rows[0][1].endswith(":review_needed:u" + str(query_db(
        url, "SELECT id FROM staff_users WHERE username = 'sup2'")[0][0]))
    other = client.post("/api/v1/complaints", json=COMPLAINT).get_json()["number"]
    for action, body in (("status", {"status": "assessed"}), ("status", {"status": "investigating"}),
                         ("task", {"team": "it", "text": "导出门禁记录",
                                   "due_date": (dt.date.today() + dt.timedelta(days=1)).isoformat()})):
        assert client.post(f"/api/v1/staff/complaints/{other}/{action}", json=body,
                           headers={"X-CSRFToken": token}).status_code == 200
    plan_notifications(desk_app)
    assert len(query_db(url, "SELECT id FROM outbox WHERE kind = 'task'")) == 1
    from sqlalchemy import select

    from intake_api.models import OutboxMessage
    with desk_app.app_context():
        message = get_session().scalar(select(OutboxMessage).where(OutboxMessage.kind == "task"))
        assert message.recipient == "it@example.org" and message.context["link"].endswith("/staff/tasks")
        assert "导出门禁记录" not in str(message.context)  # the task's text stays in the task list
