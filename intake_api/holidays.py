"""Holidays and make-up workdays admins enter in the workspace, for the years the shipped calendar lacks.

China's State Council publishes next year's holidays late in the year; until
chinesecalendar ships them, deadlines there would count Monday-Friday. HR
enters the days from the official notice at /staff/calendar; they are kept
in the database (`calendar_days`) and the SLA clocks read them beside
kb.yml's process.calendar and the shipped calendar (sla.WorkCalendar). Each
process re-reads them at most every STORED_TTL seconds, and at once after a
change it made itself.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from kb_builder.process_config import CalendarSettings

from .i18n import gettext
from .models import CalendarDay

log = logging.getLogger("kb.holidays")

HOLIDAY, WORKDAY = "holiday", "workday"
KINDS = (HOLIDAY, WORKDAY)
MAX_SPAN_DAYS = 31  # the longest official break is nine days; a month at once is a generous bound
YEARS_AHEAD = 2  # this year and the next two: an official notice covers one year
MAX_NAME = 60
STORED_TTL = 30.0


@dataclass(frozen=True)
class Days:
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]

    @property
    def years(self) -> set[int]:
        return {d.year for d in self.holidays | self.workdays}


EMPTY = Days(frozenset(), frozenset())


def active(session: Session) -> list[CalendarDay]:
    """The days in force, in date order (removed ones are kept as the audit trail, not listed)."""
    return list(session.scalars(select(CalendarDay).where(CalendarDay.removed_at.is_(None))
                                .order_by(CalendarDay.day, CalendarDay.id)))


def read(session: Session) -> Days:
    rows = active(session)
    return Days(frozenset(r.day for r in rows if r.kind == HOLIDAY), frozenset(r.day for r in rows if r.kind == WORKDAY))


def _date(name: str, value: str | dt.date | None, problems: list[tuple[str, str]]) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    text = (value or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        problems.append((name, gettext("Write the date as YYYY-MM-DD, not '%(value)s'", value=text[:20])))
        return None


def check(kind: str, first: str | dt.date | None, last: str | dt.date | None, name: str | None,
          settings: CalendarSettings, listed: dict[dt.date, CalendarDay], today: dt.date
          ) -> tuple[list[dt.date], list[tuple[str, str]]]:
    """The days one entry adds (first to last, both included), or the problems, each naming its field."""
    problems: list[tuple[str, str]] = []
    if kind not in KINDS:
        problems.append(("kind", gettext("Choose a holiday or a make-up workday")))
    start = _date("first", first, problems)
    end = _date("last", last, problems) or start
    if start is None and not any(f == "first" for f, _ in problems):
        problems.append(("first", gettext("Give the first day (YYYY-MM-DD)")))
    if len((name or "").strip()) > MAX_NAME:
        problems.append(("name", gettext("The name is at most %(n)s characters", n=MAX_NAME)))
    if start is None or end is None or problems:
        return [], problems
    if end < start:
        return [], [("last", gettext("The last day (%(last)s) is before the first (%(first)s)",
                                     last=end.isoformat(), first=start.isoformat()))]
    if (end - start).days + 1 > MAX_SPAN_DAYS:
        return [], [("last", gettext("At most %(n)s days in one entry", n=MAX_SPAN_DAYS))]
    low, high = today.year, today.year + YEARS_AHEAD
    for field_name, day in (("first", start), ("last", end)) if end != start else (("first", start),):
        if not low <= day.year <= high:
            problems.append((field_name, gettext("Give days from %(low)s to %(high)s: %(day)s is outside",
                                                 low=low, high=high, day=day.isoformat())))
    if problems:
        return [], problems
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    in_config = set(settings.holidays) | set(settings.workdays)
    for day in days:
        if kind == WORKDAY and day.weekday() not in settings.weekend:
            problems.append(("first" if day == start else "last", gettext(
                "%(day)s is a weekday, already worked: a make-up workday is a weekend day worked instead "
                "(give the weekdays off as holidays)", day=day.isoformat())))
        elif day in listed:
            row = listed[day]
            problems.append(("first" if day == start else "last", gettext(
                "%(day)s is already listed (%(name)s, by %(who)s): remove it first to change it",
                day=day.isoformat(), name=row.name or row.kind, who=row.added_by)))
        elif day in in_config:
            problems.append(("first" if day == start else "last", gettext(
                "%(day)s is already in kb.yml (process.calendar): change it there", day=day.isoformat())))
    return (days, []) if not problems else ([], problems)


class StoredDays:
    """The admins' days as an SLA clock reads them: from the database, re-read at most every `ttl` seconds.

    A clock lives as long as its process, and a web worker or the notification worker must see a day
    another process added without a restart; a query for every working-day count would be wasted.
    """

    def __init__(self, engine: Engine, ttl: float = STORED_TTL):
        self.engine = engine
        self.ttl = ttl
        self._days = EMPTY
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def __call__(self) -> Days:
        if time.monotonic() - self._read_at >= self.ttl:
            with self._lock:
                if time.monotonic() - self._read_at >= self.ttl:
                    try:
                        with Session(self.engine) as session:
                            self._days = read(session)
                    except SQLAlchemyError as exc:  # the database is away: the days last read stand
                        log.warning("calendar days not read (%s); using those read before", exc)
                    self._read_at = time.monotonic()
        return self._days

    def forget(self) -> None:
        """Read again at the next use (this process just changed the days)."""
        self._read_at = float("-inf")
