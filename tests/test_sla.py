"""SLA dates on a calendar with a holiday and a make-up working day."""

import datetime as dt
from zoneinfo import ZoneInfo

from intake_api.sla import Clock, WorkCalendar
from kb_builder.process_config import CalendarSettings, SlaSettings

SH = ZoneInfo("Asia/Shanghai")


def at(y, m, d, h=10, minute=0):
    return dt.datetime(y, m, d, h, minute, tzinfo=SH)


def clock(**calendar):
    return Clock(SlaSettings(), WorkCalendar(CalendarSettings(**calendar)), SH)


def test_chinas_calendar_skips_national_day_and_counts_the_make_up_saturday():
    # 2026: 1-7 October are holidays; Saturday 10 October is a make-up working day.
    due = clock().first_response_due(at(2026, 9, 30), level=3)
    assert due.astimezone(SH) == at(2026, 10, 10, 23, 59).replace(second=59)


def test_result_due_seven_working_days_after_the_investigation_ends():
    # Ends Friday 25 Sept 2026: working days 28, 29, 30 Sept, 8, 9, 10 (Sat, make-up), 12 Oct.
    due = clock().result_due(at(2026, 9, 25, 16))
    assert due.astimezone(SH).date() == dt.date(2026, 10, 12)


def test_configured_holidays_and_workdays_override_a_plain_week():
    # Without the official calendar: Mon 2 Nov is a company holiday, Sat 7 Nov a make-up day.
    c = clock(country="none", holidays=["2026-11-02"], workdays=["2026-11-07"])
    received = at(2026, 10, 30, 18)  # Friday evening
    assert c.first_response_due(received, 3).astimezone(SH).date() == dt.date(2026, 11, 5)
    # 6 Nov, 7 Nov (make-up Saturday), 9-13 Nov.
    assert c.result_due(at(2026, 11, 5)).astimezone(SH).date() == dt.date(2026, 11, 13)


def test_urgent_complaints_run_on_the_wall_clock():
    c = clock()
    received = at(2026, 10, 1, 9)  # a holiday: urgent limits do not wait for working days
    assert c.first_response_due(received, 1) == received + dt.timedelta(hours=24)
    assert c.resolution_due(received, 1) == received + dt.timedelta(hours=24)
    assert c.resolution_due(received, 3) is None
    assert c.assessment_due(received) == received + dt.timedelta(hours=24)


def test_years_without_official_data_fall_back_to_weekdays(caplog):
    gap = first_uncovered_year()  # 2027 with chinesecalendar 1.11.0; later with a newer one
    friday = next(dt.date(gap, 3, d) for d in range(1, 8) if dt.date(gap, 3, d).weekday() == 4)
    due = clock().first_response_due(at(friday.year, friday.month, friday.day), level=3)
    assert due.astimezone(SH).date() == friday + dt.timedelta(days=5)  # Mon, Tue, Wed
    assert f"no official calendar for {gap}" in caplog.text


def first_uncovered_year() -> int:
    """The first year the installed chinesecalendar has no official data for (2027 with 1.11.0)."""
    import chinese_calendar
    year = dt.date.today().year - 1
    while True:
        try:
            chinese_calendar.is_workday(dt.date(year, 12, 31))
        except NotImplementedError:
            return year
        year += 1


def test_a_year_without_official_calendar_is_reported_before_deadlines_reach_it():
    gap = first_uncovered_year()
    calendar = WorkCalendar(CalendarSettings())
    assert calendar.years_without_official_calendar(dt.date(gap - 1, 12, 1)) == [gap]
    assert calendar.years_without_official_calendar(dt.date(gap - 1, 6, 1)) == []  # more than 60 days ahead
    # Once HR lists that year's holidays in kb.yml, or the calendar is not China's, nothing to say.
    assert WorkCalendar(CalendarSettings(holidays=[dt.date(gap, 1, 1)])).years_without_official_calendar(
        dt.date(gap - 1, 12, 1)) == []
    assert WorkCalendar(CalendarSettings(country="none")).years_without_official_calendar(
        dt.date(gap - 1, 12, 1)) == []
