"""Admins enter next year's holidays and make-up workdays in the workspace; the SLA clocks use them."""

import datetime as dt
import html
import re
from zoneinfo import ZoneInfo

import pytest
from conftest import token_of, workspace_login as login, PASSWORD, query_db
from test_sla import first_uncovered_year

SH = ZoneInfo("Asia/Shanghai")


def weekday_of(year, month, weekday):
    """The first day of that month falling on that weekday (Monday is 0)."""
    return next(dt.date(year, month, d) for d in range(1, 8) if dt.date(year, month, d).weekday() == weekday)


@pytest.mark.parametrize("kind, first, last, name, field, message", [
    ("holiday", "", "", "", "first", "Give the first day (YYYY-MM-DD)"),
    ("holiday", "2027-02-30", "", "", "first", "Write the date as YYYY-MM-DD, not '2027-02-30'"),
    ("holiday", "2027-02-10", "2027-02-08", "", "last", "The last day (2027-02-08) is before the first (2027-02-10)"),
    ("holiday", "2027-01-01", "2027-03-01", "", "last", "At most 31 days in one entry"),
    ("holiday", "2031-01-01", "", "", "first", "Give days from 2026 to 2028: 2031-01-01 is outside"),
    ("holiday", "2025-10-01", "", "", "first", "Give days from 2026 to 2028: 2025-10-01 is outside"),
    ("leave", "2027-02-10", "", "", "kind", "Choose a holiday or a make-up workday"),
    ("holiday", "2027-02-10", "", "x" * 61, "name", "The name is at most 60 characters"),
    ("workday", "2027-02-08", "", "", "first",  # a Monday
     "2027-02-08 is a weekday, already worked: a make-up workday is a weekend day worked instead "
     "(give the weekdays off as holidays)"),
    ("holiday", "2027-05-03", "", "", "first", "2027-05-03 is already in kb.yml (process.calendar): change it there"),
])
def test_a_bad_entry_is_refused_naming_the_field(kind, first, last, name, field, message):
    from intake_api.holidays import check
    from intake_api.i18n import speaking
    from kb_builder.process_config import CalendarSettings
    settings = CalendarSettings(holidays=[dt.date(2027, 5, 3)])
    with speaking("en"):
        days, problems = check(kind, first, last, name, settings, {}, dt.date(2026, 12, 7))
    assert days == [] and problems == [(field, message)]


def test_a_run_of_holidays_and_a_make_up_saturday_are_accepted():
    from intake_api.holidays import check
    from kb_builder.process_config import CalendarSettings
    days, problems = check("holiday", "2027-02-10", "2027-02-16", "春节", CalendarSettings(), {}, dt.date(2026, 12, 7))
    assert problems == [] and days == [dt.date(2027, 2, 10) + dt.timedelta(days=i) for i in range(7)]
    assert check("workday", "2027-02-20", None, "春节调休", CalendarSettings(), {}, dt.date(2026, 12, 7)) == (
        [dt.date(2027, 2, 20)], [])


@pytest.fixture
def cal_app(built_kb, db_url):
    from intake_api import create_app
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "KB_OVERRIDES": {"database_url": db_url}})
    with app.app_context():
        create_staff(get_session(), "hr", PASSWORD, "admin", [])
        create_staff(get_session(), "fac", PASSWORD, "handler", ["facilities"])
        get_session().commit()
    return app


def test_admins_add_days_the_clock_counts_and_handlers_cannot(cal_app, db_url):
    gap = first_uncovered_year()  # a year the shipped calendar does not know: Monday-Friday until entered
    clock = cal_app.extensions["kb_clock"]
    # A Friday, then a week off the next Monday to Friday, and the Saturday after worked instead.
    friday = weekday_of(gap, 3, 4)
    monday = friday + dt.timedelta(days=3)
    saturday = monday + dt.timedelta(days=5)
    received = dt.datetime.combine(friday, dt.time(10), tzinfo=SH)
    before = clock.first_response_due(received, 3).astimezone(SH).date()
    assert before == friday + dt.timedelta(days=5)  # Mon, Tue, Wed

    hr = login(cal_app, "hr")
    page = hr.get("/staff/calendar").get_data(as_text=True)
    res = hr.post("/staff/calendar?lang=en", data={"csrf_token": token_of(page), "kind": "holiday",
                                                   "first": monday.isoformat(), "last": (monday + dt.timedelta(days=4)).isoformat(),
                                                   "name": "<b>公司假</b>"}, follow_redirects=True)
    text = res.get_data(as_text=True)
    assert "Added 5 day(s)" in text and "&lt;b&gt;公司假&lt;/b&gt;" in text and "<b>公司假" not in text
    res = hr.post("/staff/calendar", data={"csrf_token": token_of(page), "kind": "workday",
                                           "first": saturday.isoformat(), "name": "调休"}, follow_redirects=True)
    assert f'id="day-{saturday.isoformat()}" data-kind="workday"' in res.get_data(as_text=True)

    # The clock of this process reads them at once: Sat (worked), then Mon, Tue of the week after.
    after = clock.first_response_due(received, 3).astimezone(SH).date()
    assert after == saturday + dt.timedelta(days=3)
    # Another process's clock (a second web worker, the notification worker) reads them from the database.
    from intake_api.db import make_engine
    from intake_api.sla import make_clock
    other = make_clock(cal_app.config["KB"], make_engine(db_url))
    assert other.first_response_due(received, 3).astimezone(SH).date() == after

    # The same day twice is refused with who entered it; the page stays usable.
    res = hr.post("/staff/calendar?lang=en", data={"csrf_token": token_of(page), "kind": "holiday",
                                                   "first": monday.isoformat(), "name": ""}, follow_redirects=True)
    assert f"{monday.isoformat()} is already listed (&lt;b&gt;公司假&lt;/b&gt;, by staff:hr): remove it first to change it" \
        in res.get_data(as_text=True)
    assert query_db(db_url, "SELECT COUNT(*) FROM calendar_days")[0][0] == 6

    # Handlers neither see nor change the calendar.
    fac = login(cal_app, "fac")
    assert fac.get("/staff/calendar").status_code == 403
    assert fac.post("/staff/calendar", data={"csrf_token": token_of(fac.get("/staff/").get_data(as_text=True)),
                                             "kind": "holiday", "first": monday.isoformat()}).status_code in (302, 403)
    assert query_db(db_url, "SELECT COUNT(*) FROM calendar_days")[0][0] == 6

    # Removing a day keeps the row as the audit trail, and the clock forgets it.
    day_id = query_db(db_url, "SELECT id FROM calendar_days WHERE kind = 'workday'")[0][0]
    hr.post(f"/staff/calendar/{day_id}/remove", data={"csrf_token": token_of(page)})
    assert query_db(db_url, "SELECT removed_by FROM calendar_days WHERE id = :i", i=day_id) == [("staff:hr",)]
    assert clock.first_response_due(received, 3).astimezone(SH).date() == monday + dt.timedelta(days=9)  # Mon-Wed after


def test_the_calendar_warning_is_for_admins_and_goes_once_the_year_is_entered(cal_app, monkeypatch):
    gap = first_uncovered_year()
    clock = cal_app.extensions["kb_clock"]
    monkeypatch.setattr(type(clock), "today", lambda self: dt.date(gap - 1, 12, 1))
    hr, fac = login(cal_app, "hr"), login(cal_app, "fac")
    page = hr.get("/staff/?lang=en").get_data(as_text=True)
    assert (f"The official holidays for {gap} are not known yet: working-day time limits there count Monday to "
            "Friday. Add that year's holidays and make-up workdays from the State Council's notice at Holiday "
            "calendar.") in html.unescape(page)
    assert re.search(r'id="calendar-notice".*?href="/staff/calendar"', page, re.S)
    assert 'id="calendar-notice"' not in fac.get("/staff/?lang=en").get_data(as_text=True)

    hr.post("/staff/calendar", data={"csrf_token": token_of(page), "kind": "holiday",
                                     "first": f"{gap}-01-01", "name": "元旦"})
    assert 'id="calendar-notice"' not in hr.get("/staff/").get_data(as_text=True)


def test_the_staff_api_keeps_the_same_calendar(cal_app, db_url):
    from conftest import api_login
    gap = first_uncovered_year()
    client = cal_app.test_client()
    headers = {"X-CSRFToken": api_login(client, "hr"), "Accept-Language": "en"}
    saturday = weekday_of(gap, 4, 5)
    res = client.post("/api/v1/staff/calendar", json={"kind": "workday", "first": saturday.isoformat(), "name": "调休"},
                      headers=headers)
    assert res.status_code == 201 and res.get_json()["days"][0]["day"] == saturday.isoformat()
    res = client.post("/api/v1/staff/calendar", json={"kind": "workday", "first": (saturday - dt.timedelta(days=1))
                                                      .isoformat()}, headers=headers)
    assert res.status_code == 400 and res.get_json()["errors"][0]["field"] == "first"
    assert "is a weekday, already worked" in res.get_json()["errors"][0]["message"]
    listed = client.get("/api/v1/staff/calendar", headers=headers).get_json()
    assert [(d["day"], d["kind"], d["added_by"]) for d in listed["days"]] == [(saturday.isoformat(), "workday", "staff:hr")]
    res = client.post(f"/api/v1/staff/calendar/{listed['days'][0]['id']}/remove", headers=headers)
    assert res.status_code == 200 and client.get("/api/v1/staff/calendar", headers=headers).get_json()["days"] == []
    assert query_db(db_url, "SELECT removed_by FROM calendar_days") == [("staff:hr",)]

    handler = cal_app.test_client()
    h = {"X-CSRFToken": api_login(handler, "fac")}
    assert handler.get("/api/v1/staff/calendar", headers=h).status_code == 403
    assert handler.post("/api/v1/staff/calendar", json={"kind": "holiday", "first": f"{gap}-01-01"},
                        headers=h).status_code == 403
