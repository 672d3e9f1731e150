"""Does China's official holiday calendar cover the coming deadlines? A kb.yml concern.

The State Council publishes each year's holidays and make-up workdays late
in the year before; chinesecalendar knows a year once a release includes it.
Until then working days there count Monday-Friday, so HR is told early to
enter the holidays in the workspace (/staff/calendar) or upgrade the package. `kb check`,
`kb build`, `kb serve` and the workspace say it (intake_api.sla uses this).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from .process_config import CalendarSettings

# Far enough ahead for HR to add the next year's holidays before the first deadline falls in it.
CALENDAR_HORIZON_DAYS = 60


def local_today(timezone: str) -> dt.date:
    """Today's date where the organisation is (kb.yml `timezone`)."""
    return dt.datetime.now(ZoneInfo(timezone)).date()


def years_without_official_calendar(settings: CalendarSettings, today: dt.date,
                                    days: int = CALENDAR_HORIZON_DAYS,
                                    entered: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """Years from today to `days` ahead that the official calendar does not cover yet.

    Deadlines in such a year count Monday-Friday: a complaint received on
    the eve of the Spring Festival would be due in the middle of it. A year
    for which kb.yml lists holidays, or admins entered days in the workspace (`entered`: their years),
    counts as covered.
    """
    if settings.country != "CN":
        return []
    import chinese_calendar
    listed = {d.year for d in settings.holidays} | set(entered)
    missing = []
    for year in range(today.year, (today + dt.timedelta(days=days)).year + 1):
        try:
            chinese_calendar.is_workday(dt.date(year, 12, 31))
        except NotImplementedError:
            if year not in listed:
                missing.append(year)
    return missing


def calendar_warning(years: list[int]) -> tuple[str, str]:
    """What to tell HR about years without an official calendar (zh, en)."""
    shown = ", ".join(map(str, years))
    return ((f"{shown} 年的法定节假日与调休安排尚未收录：这些年份的工作日暂按周一至周五计算。"
             f"请管理员在工作台的“节假日日历”（/staff/calendar）按国务院通知补充，或升级 chinesecalendar。"),
            (f"The official holiday calendar for {shown} is not known yet: working days there count "
             f"Monday-Friday. An admin adds its holidays and make-up workdays from the State Council's notice "
             f"in the workspace at Holiday calendar (/staff/calendar), or upgrade chinesecalendar."))


def calendar_gap(config, entered: set[int] | frozenset[int] | None = None) -> tuple[str, str] | None:
    """The warning for this organisation today (zh, en), or None when the coming deadlines are covered.

    entered: the years admins entered days for; None reads them from the complaint database, and only when
    the shipped calendar and kb.yml leave a gap (the common case opens nothing).
    """
    today = local_today(config.timezone)
    years = years_without_official_calendar(config.process.calendar, today, entered=entered or frozenset())
    if years and entered is None:
        years = years_without_official_calendar(config.process.calendar, today, entered=entered_years(config.db_url))
    return calendar_warning(years) if years else None


def entered_years(db_url: str) -> set[int]:
    """The years admins entered holidays or make-up workdays for in the workspace, read-only.

    `kb check` and `kb build` stop warning about a year an admin has covered. They read the desk's
    `calendar_days` table by reflection (its name and two columns: no import of the desk, which stays
    optional for the builder), create and migrate nothing, and a database that does not exist yet, cannot
    be reached or has no such table has entered nothing: the warning stays, which is right then.
    """
    from sqlalchemy import MetaData, Table, create_engine, select
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    url = make_url(db_url)
    sqlite = url.get_backend_name() == "sqlite"
    if sqlite and (not url.database or not Path(url.database).is_file()):
        return set()
    engine = create_engine(url, connect_args={} if sqlite else {"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            days = Table("calendar_days", MetaData(), autoload_with=conn)
            rows = conn.execute(select(days.c.day).where(days.c.removed_at.is_(None)))
            return {(day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day)[:10])).year
                    for day, in rows}
    except SQLAlchemyError:
        return set()
    finally:
        engine.dispose()
