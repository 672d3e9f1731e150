"""The review's figures on a quarter built by hand: every limit, breaches of each, departments, staff KPIs,
who sees the per-handler figures, and the Excel and CSV exports (opened with openpyxl)."""

import csv
import datetime as dt
import html
import io
import re

import pytest

from conftest import PASSWORD, query_db

UTC = dt.UTC
# Quarter 2026Q3 in Asia/Shanghai ends 2026-10-01 00:00 local = 2026-09-30 16:00 UTC: the clocks are read there.
AS_OF = dt.datetime(2026, 9, 30, 16, tzinfo=UTC)


def h(hours: float) -> dt.timedelta:
    return dt.timedelta(hours=hours)


# Each complaint: when received (UTC), level, department complained about, team, handler, and for each limit
# (due after receipt, met after receipt or None), all in hours. Every figure below is computed from this table.
QUARTER = {
    "A": dict(at=dt.datetime(2026, 7, 1, 2, tzinfo=UTC), level=3, about="hr", team="hr-desk", handler="hana",
              assessment=(24, 2), first_response=(72, 30), result=(200, 100), rating=4, reopened=True),
    "B": dict(at=dt.datetime(2026, 7, 10, 2, tzinfo=UTC), level=3, about="hr", team="hr-desk", handler="hana",
              assessment=(24, 30), first_response=(72, None), follow_up=2),
    "C": dict(at=dt.datetime(2026, 8, 3, 2, tzinfo=UTC), level=1, about="it", team="it", handler="ivan",
              assessment=(24, 1), first_response=(24, 20), resolution=(24, 48), result=(100, 48),
              disclosure="confidential"),
    "D": dict(at=dt.datetime(2026, 9, 30, 15, tzinfo=UTC), level=2, about="it", team="it", handler="ivan",
              assessment=(24, None), first_response=(24, None)),
    "E": dict(at=dt.datetime(2026, 9, 1, 2, tzinfo=UTC), level=3, about="canteen", team="canteen", handler="carl",
              assessment=(24, 5), first_response=(72, 10), result=(120, 60), promise=(100, 150), review=(50, 40)),
}
DONE = {"assessment": "assessed_at", "first_response": "first_responded_at", "resolution": "resolved_at",
        "result": "resolved_at", "promise": "promise_kept_at", "review": "reviewed_at"}
DUE = {"assessment": "assessment_due_at", "first_response": "first_response_due_at", "resolution": "resolution_due_at",
       "result": "result_due_at", "promise": "promise_due_at", "review": "review_due_at"}
B_UNANSWERED = (AS_OF - QUARTER["B"]["at"]).total_seconds() / 3600  # 1982 h: B's first response, never given


def build_quarter(app) -> dict[str, str]:
    """Register the five complaints through the process, then set their clocks to the table's values."""
    from intake_api import process
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    from intake_api.models import ComplaintEvent, FollowUp
    from intake_api.schemas import ComplaintIn
    kb, clock = app.config["KB"], app.extensions["kb_clock"]
    numbers = {}
    with app.app_context():
        s = get_session()
        users = {name: create_staff(s, name, PASSWORD, "handler", [team])
                 for name, team in (("hana", "hr-desk"), ("ivan", "it"), ("carl", "canteen"), ("olga", "canteen"))}
        create_staff(s, "boss", PASSWORD, "admin", [])
        create_staff(s, "rel", PASSWORD, "relations", [])
        s.flush()
        for key, spec in QUARTER.items():
            data = ComplaintIn.model_validate({
                "category": "facilities", "description": f"=HYPERLINK(\"http://x\") 投诉 {key}", "request": "处理",
                "occurred_at": spec["at"].date().isoformat(), "location": "A 栋", "about_department": spec["about"],
                "disclosure": spec.get("disclosure", "named"), "identity": {"name": f"张{key}", "department": "研发部"}},
                context={"categories": kb.category_ids})
            c, _ = process.register(s, kb, clock, data, now=spec["at"])
            c.level, c.team, c.handler_id = spec["level"], spec["team"], users[spec["handler"]].id
            for kind in DUE:
                due, done = spec.get(kind, (None, None))
                setattr(c, DUE[kind], spec["at"] + h(due) if due is not None else None)
                if done is not None:
                    setattr(c, DONE[kind], spec["at"] + h(done))
            if spec.get("result") or spec.get("resolution"):
                c.status = "resolved"
            c.rating = spec.get("rating")
            if spec.get("reopened"):
                s.add(ComplaintEvent(complaint_id=c.id, at=spec["at"] + h(101), actor="system", action="status",
                                     from_value="resolved", to_value="reopened"))
            if spec.get("follow_up"):
                s.add(FollowUp(complaint_id=c.id, staff_username="hana", method="phone", score=spec["follow_up"]))
            numbers[key] = c.number
        s.commit()
    return numbers


def with_settings(kb, k: int, lead: str | None = None, headcounts: dict[str, int] | None = None):
    """The app's configuration with another minimum group size, a team lead for canteen and headcounts."""
    teams = [t.model_copy(update={"lead": lead}) if t.id == "canteen" else t for t in kb.process.teams]
    depts = [d.model_copy(update={"headcount": (headcounts or {}).get(d.id)}) for d in kb.process.departments]
    privacy = kb.process.privacy.model_copy(update={"min_group_size": k})
    return kb.model_copy(update={"process": kb.process.model_copy(update={"privacy": privacy, "teams": teams,
                                                                            "departments": depts})})


@pytest.fixture
def quarter(app):
    numbers = build_quarter(app)
    app.config["KB"] = with_settings(app.config["KB"], k=2, lead="carl",
                                     headcounts={"hr": 40, "it": 10, "canteen": 200, "sales": 50})
    return numbers


def collect(app):
    from intake_api.db import get_session
    from intake_api.desk import Actor, Desk
    from intake_api.metrics import Period
    with app.app_context():
        desk = Desk(get_session(), app.config["KB"], app.extensions["kb_clock"], app.extensions.get("kb_term_weights"))
        period = Period.quarter("2026Q3", desk.clock.zone)
        return desk.review(Actor.operator(), period)


def test_every_limit_and_every_breach_by_hand(app, quarter):
    data = collect(app)
    limits = {(r["kind"], r["level"]): r for r in data["sla"]["limits"]}

    def row(kind, level=None):
        r = limits[(kind, level)]
        return r["due"], r["in_time"], r["late"], r["running"], r["median_hours"], r["p90_hours"]

    # assessment: A 2 h, C 1 h, E 5 h in time; B 30 h against 24 late; D still running at the end date.
    # Nearest rank over [1, 2, 5, 30]: median the 2nd, 90th percentile the 4th.
    assert row("assessment") == (5, 3, 1, 1, 2.0, 30.0)
    # first response: B never answered and overdue: a breach, its time counted up to the end date.
    assert row("first_response") == (5, 3, 1, 1, 20.0, round(B_UNANSWERED, 1))
    assert row("first_response", 1) == (1, 1, 0, 0, 20.0, 20.0)
    assert row("first_response", 2) == (1, 0, 0, 1, None, None)
    assert row("first_response", 3) == (3, 2, 1, 0, 30.0, round(B_UNANSWERED, 1))
    assert row("resolution") == (1, 0, 1, 0, 48.0, 48.0)  # urgent C handled in 48 h against 24
    assert row("result") == (3, 3, 0, 0, 60.0, 100.0)
    assert row("promise") == (1, 0, 1, 0, 150.0, 150.0)
    assert row("review") == (1, 1, 0, 0, 40.0, 40.0)
    assert limits[("assessment", None)]["on_time"] == 0.75
    assert data["sla"]["total"] == 5 and data["sla"]["resolved"] == 3
    # The complete breach list: every limit's, met late or never met.
    assert data["breach_total"] == data["sla"]["breach_count"] == 4
    got = {(b["number"], b["kind"]): (b["late_hours"], b["unmet"]) for b in data["breaches"]}
    assert got == {(quarter["B"], "assessment"): (6.0, False),
                   (quarter["B"], "first_response"): (round(B_UNANSWERED - 72, 1), True),
                   (quarter["C"], "resolution"): (24.0, False),
                   (quarter["E"], "promise"): (50.0, False)}


def test_departments_complained_about_with_small_groups_merged(app, quarter):
    data = collect(app)
    # k = 2: hr 2 and it 2 show; canteen's 1 is merged into "other", still under 2, so its count is hidden.
    assert data["by_department"] == [[("人力资源部", "Human resources"), 2], [("信息技术部", "IT department"), 2],
                                     [("其他", "other"), 0]]
    trend = {label[1]: months for label, months in data["department_trend"]}
    assert trend["Human resources"] == {"2026-07": 2, "2026-08": 0, "2026-09": 0}
    assert trend["IT department"] == {"2026-07": 0, "2026-08": None, "2026-09": None}  # 1 a month: under k = 2
    assert trend["other"] == {"2026-07": None, "2026-08": None, "2026-09": None}
    sla = {r["label"][1]: r for r in data["department_sla"]}
    # hr: A (3 limits in time), B (2 late) -> 3 of 5; it: C 3 in time, 1 late, D 2 running -> 3 of 4.
    assert (sla["Human resources"]["in_time"], sla["Human resources"]["late"]) == (3, 2)
    assert sla["Human resources"]["on_time"] == 0.6
    assert (sla["IT department"]["in_time"], sla["IT department"]["late"], sla["IT department"]["running"]) == (3, 1, 2)
    assert sla["other"]["complaints"] == 0  # canteen alone: hidden
    # Complainants' own departments never appear (that is identity).
    assert "研发部" not in str(data)


def test_staff_kpis_by_hand(app, quarter):
    data = collect(app)
    teams = {r["team_id"]: r for r in data["staff"]["teams"]}
    hr = teams["hr-desk"]
    assert (hr["complaints"], hr["open"], hr["resolved"], hr["resolution_rate"]) == (2, 1, 1, 0.5)
    assert (hr["median_response_hours"], hr["median_resolution_hours"]) == (30.0, 100.0)
    assert (hr["limits_due"], hr["limits_late"], hr["on_time"]) == (5, 2, 0.6)
    assert (hr["reopened"], hr["reopen_rate"]) == (1, 1.0)
    # Satisfaction: A's own rating and B's follow-up score, never averaged together.
    assert (hr["rating_average"], hr["rating_count"], hr["recorded_average"], hr["recorded_count"]) == (4.0, 1, 2.0, 1)
    handlers = {r["handler"]: r for r in data["staff"]["handlers"]}
    assert set(handlers) == {"hana", "ivan", "carl"}
    assert handlers["ivan"]["open"] == 1 and handlers["ivan"]["median_response_hours"] == 20.0


def test_recognition_ranks_departments_per_head(app, quarter):
    data = collect(app)
    rows = [(r["label"][1], r["per_100"], r["small"]) for r in data["recognition"]]
    # sales 0 of 50 and canteen 1 of 200 are under k = 2: shown as "< 2 per 50 / 200 heads"; hr 2/40, it 2/10.
    assert rows == [("Sales", 4.0, True), ("Catering", 1.0, True),
                    ("Human resources", 5.0, False), ("IT department", 20.0, False)]


def test_who_sees_the_per_handler_figures(app, quarter, client):
    from conftest import api_login
    # The team lead of canteen (carl) sees canteen's figures only; another canteen handler sees none;
    # admins see every team; employee relations read the review but not the KPIs.
    api_login(client, "carl")
    page = client.get("/staff/kpis?quarter=2026Q3").get_data(as_text=True)
    assert "carl" in page and "hana" not in page and "ivan" not in page
    assert "餐饮服务组" in page and "人力资源服务台" not in page
    client.post("/api/v1/staff/logout")
    api_login(client, "olga")
    assert client.get("/staff/kpis?quarter=2026Q3").status_code == 403
    assert client.get("/staff/report?quarter=2026Q3").status_code == 403
    client.post("/api/v1/staff/logout")
    api_login(client, "rel")
    page = client.get("/staff/report?quarter=2026Q3").get_data(as_text=True)
    assert "处理人员考核" not in page and "hana" not in page
    assert client.get("/staff/kpis?quarter=2026Q3").status_code == 403
    client.post("/api/v1/staff/logout")
    api_login(client, "boss")
    page = client.get("/staff/kpis?quarter=2026Q3").get_data(as_text=True)
    assert all(name in page for name in ("hana", "ivan", "carl"))


def test_review_page_links_breaches_and_speaks_the_page_language(app, quarter, client):
    from conftest import api_login
    api_login(client, "boss")
    page = client.get("/staff/report?quarter=2026Q3&lang=en").get_data(as_text=True)
    assert f'href="/staff/complaints/{quarter["B"]}"' in page
    assert "<strong>5</strong> complaints received" in page and "投诉季度报告" not in page
    assert '<select id="quarter" name="quarter">' in page and '<option value="2026Q3" selected>' in page
    page = client.get("/staff/report?quarter=2026Q3&lang=zh").get_data(as_text=True)
    assert "收到投诉 <strong>5</strong> 件" in page and "Quarterly complaint review" not in page
    assert "设施报修" in page  # the category's label, not its id
    # A recurring problem (the five similar complaints) links to the CAPA form, filled in.
    decide = re.search(r'href="(/staff/capa\?complaints=[^"]+)"', page).group(1)
    form = client.get(html.unescape(decide)).get_data(as_text=True)
    assert quarter["A"] in form and "设施报修 · " in form


def test_exports_open_in_openpyxl_and_add_up_to_the_review(app, quarter, client, db_url):
    from conftest import api_login
    from openpyxl import load_workbook
    data = collect(app)
    api_login(client, "boss")
    res = client.get("/staff/report/export?quarter=2026Q3&format=xlsx&lang=en")
    assert res.status_code == 200 and res.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(res.data))
    limits = book["Time limits"]
    assert limits.freeze_panes == "A2"
    rows = list(limits.iter_rows(min_row=2, values_only=True))
    # Sums equal the review's: overall rows only (the per-level rows repeat first response).
    overall = [r for r in rows if " · " not in r[0]]
    assert sum(r[3] for r in overall) == data["breach_total"] == 4
    assert sum(r[1] for r in overall) == sum(r["due"] for r in data["sla"]["limits"] if r["level"] is None)
    breaches = list(book["Breaches"].iter_rows(min_row=2, values_only=True))
    assert len(breaches) == 4 and all(isinstance(r[5], dt.datetime) for r in breaches)
    assert isinstance(rows[0][5], float) and limits.cell(2, 6).number_format == "0%"
    # The audit history records the export, not its content.
    assert query_db(db_url, "SELECT actor, action, to_value FROM staff_audit WHERE action = 'export'") == [
        ("staff:boss", "export", "review 2026Q3 xlsx")]

    # The complaint list: an admin gets identity columns (named complainants), a handler none; formulas defused.
    res = client.get("/staff/complaints/export?format=csv&since=2026-07-01&until=2026-09-30&lang=en")
    table = list(csv.reader(io.StringIO(res.data.decode("utf-8-sig"))))
    assert table[0][:2] == ["Complaint", "Received"] and "Name" in table[0]
    cells = {cell for row in table for cell in row}
    assert len(table) == 6 and "张A" in cells and "张C" not in cells  # C is confidential: relations only
    client.post("/api/v1/staff/logout")
    api_login(client, "hana")
    res = client.get("/staff/complaints/export?format=xlsx")
    sheet = load_workbook(io.BytesIO(res.data)).active
    header = [c.value for c in sheet[1]]
    assert "姓名" not in header and sheet.max_row == 3  # hr-desk's two complaints, no identity
    assert query_db(db_url, "SELECT actor, to_value FROM staff_audit WHERE action = 'export' ORDER BY id")[1:] == [
        ("staff:boss", "complaints 2026-07-01..2026-09-30 csv (5 rows, identity)"),
        ("staff:hana", "complaints .. xlsx (2 rows)")]
    assert client.get("/staff/complaints/export?format=pdf").status_code == 400
    client.post("/api/v1/staff/logout")
    api_login(client, "rel")  # employee relations: the confidential complainant's identity too
    res = client.get("/staff/complaints/export?format=csv")
    assert "张C" in res.data.decode("utf-8-sig")


def test_defuse_formula_injection():
    from intake_api.export import csv_bytes, defuse, xlsx
    assert [defuse(v) for v in ("=1+1", "+1", "-2", "@SUM(A1)", "\tx", "ok", 5, -3)] == [
        "'=1+1", "'+1", "'-2", "'@SUM(A1)", "'\tx", "ok", 5, -3]
    from openpyxl import load_workbook
    book = load_workbook(io.BytesIO(xlsx([("t", ["=head"], [["=HYPERLINK(\"http://x\")", 3]])])))
    assert [c.value for c in book["t"][2]] == ["'=HYPERLINK(\"http://x\")", 3]
    assert book["t"]["A2"].data_type == "s"
    assert csv_bytes([("t", ["a"], [["=1"]])], titles=False).decode("utf-8-sig").splitlines() == ["a", "'=1"]


def test_corrective_actions_owned_queued_and_reviewed(app, quarter, client, db_url):
    from conftest import api_login
    api_login(client, "hana")  # a handler who leads nothing decides nothing
    assert client.post("/api/v1/staff/capa", json={"what": "x", "owner_team": "hr-desk", "due": "2026-09-15",
                                                   "complaints": [quarter["A"]]}).status_code == 403
    client.post("/api/v1/staff/logout")
    api_login(client, "carl")  # canteen's lead
    res = client.post("/api/v1/staff/capa", json={"what": "", "owner_team": "nobody", "due": "15/09/2026",
                                                  "complaints": [quarter["A"]]})
    assert res.status_code == 400  # every bad field named; A is hr-desk's: carl cannot see it
    assert {e["field"] for e in res.get_json()["errors"]} == {"what", "owner_team", "due", "complaints"}
    res = client.post("/api/v1/staff/capa", json={"what": "饮水机每月检修", "owner_team": "canteen", "due": "2026-09-15",
                                                  "complaints": [quarter["E"]]})
    assert res.status_code == 201 and res.get_json()["complaints"] == [quarter["E"]]
    mine = res.get_json()["id"]
    res = client.post("/api/v1/staff/capa", json={"what": "考勤规则培训", "owner_team": "hr-desk", "due": "2026-09-20",
                                                  "cluster": "请假与考勤 · 急诊没有病假条"})
    theirs = res.get_json()["id"]
    assert client.post(f"/api/v1/staff/capa/{theirs}/done", json={"evidence": "x"}).status_code == 404
    client.post("/api/v1/staff/logout")
    api_login(client, "hana")
    # The owner team's queue shows its overdue action; its list has only its own.
    assert [a["id"] for a in client.get("/api/v1/staff/capa").get_json()["capa"]] == [theirs]
    queue = client.get("/staff/").get_data(as_text=True)
    assert "考勤规则培训" in queue and "饮水机每月检修" not in queue
    assert client.post(f"/api/v1/staff/capa/{theirs}/done", json={"evidence": " "}).status_code == 400
    assert client.post(f"/api/v1/staff/capa/{theirs}/done", json={"evidence": "培训记录见 HR 共享盘"}).status_code == 200
    assert client.post(f"/api/v1/staff/capa/{theirs}/done", json={"evidence": "again"}).status_code == 409
    assert query_db(db_url, "SELECT action, to_value FROM complaint_events WHERE action = 'capa'") == [("capa", str(mine))]

    # Decided in 2026Q3: the 2026Q4 review lists them, what was done and what is overdue.
    from sqlalchemy import create_engine, text
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE capa_actions SET created_at = :t"), {"t": dt.datetime(2026, 8, 1)})
    engine.dispose()
    from intake_api.db import get_session
    from intake_api.desk import Actor, Desk
    from intake_api.metrics import Period
    with app.app_context():
        desk = Desk(get_session(), app.config["KB"], app.extensions["kb_clock"], app.extensions.get("kb_term_weights"))
        data = desk.review(Actor.operator(), Period.quarter("2026Q4", desk.clock.zone))
    last = data["capa"][0]
    assert (last["period"], last["decided"], last["done"], last["done_in_time"], last["overdue"]) == ("2026Q3", 2, 1, 0, 1)
    assert {a["what"]: a["status"] for a in last["actions"]} == {"饮水机每月检修": "overdue", "考勤规则培训": "done"}


def test_corrective_actions_from_the_command_line(app, quarter, built_kb, db_url, monkeypatch):
    from click.testing import CliRunner

    from kb_builder.cli import main
    monkeypatch.setenv("KB_DATABASE_URL", db_url)
    monkeypatch.delenv("LANGUAGE", raising=False)
    monkeypatch.setenv("LANG", "en_GB.UTF-8")  # the messages in English (the shell's language)
    run = CliRunner()
    args = ["--config", str(built_kb / "kb.yml"), "capa"]
    res = run.invoke(main, [*args, "add", "更换饮水机滤芯", "--team", "canteen", "--due", "2026-09-15",
                            "--complaint", quarter["E"]])
    assert res.exit_code == 0 and "Added corrective action #1 for canteen." in res.output, res.output
    res = run.invoke(main, [*args, "add", "x", "--team", "canteen", "--due", "someday"])
    assert res.exit_code == 1 and "YYYY-MM-DD, not 'someday'" in res.output and "Link at least one complaint" in res.output
    res = run.invoke(main, [*args, "list"])
    assert f"#1 [open OVERDUE] canteen due 2026-09-15: 更换饮水机滤芯 ({quarter['E']})" in res.output
    assert run.invoke(main, [*args, "done", "1", "--evidence", "工单 W-1"]).exit_code == 0
    assert "#1" not in run.invoke(main, [*args, "list"]).output
    assert "[done]" in run.invoke(main, [*args, "list", "--all"]).output


def test_a_bad_headcount_is_named_with_its_line(tmp_path):
    from kb_builder.config import load_config
    from kb_builder.errors import ConfigError
    path = tmp_path / "kb.yml"
    path.write_text("categories:\n  - {id: facilities, zh: 设施, en: Facilities}\nprocess:\n  departments:\n"
                    "    - {id: hr, zh: 人力资源部, en: HR, headcount: 0}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "field 'process.departments.0.headcount'" in str(info.value)
    assert "greater than or equal to 1" in str(info.value)
