"""SLA clocks: working days and the due dates content/sops/time-limits.md promises for each complaint.

Working-day limits end at the close (23:59:59 local) of the N-th working day
after the day of receipt; hour limits run on the wall clock.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from kb_builder.official_calendar import CALENDAR_HORIZON_DAYS, years_without_official_calendar
from kb_builder.process_config import CalendarSettings, SlaSettings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from .holidays import Days

log = logging.getLogger(__name__)


class WorkCalendar:
    """Which days are working days: kb.yml's exceptions, the days admins entered, then the official calendar.

    `stored` gives the admins' days (holidays.StoredDays reads them from the database).
    """

    def __init__(self, settings: CalendarSettings, stored: Callable[[], Days] | None = None):
        self.settings = settings
        self.stored = stored
        self._holidays = set(settings.holidays)
        self._workdays = set(settings.workdays)
        self._warned: set[int] = set()

    def is_workday(self, day: dt.date) -> bool:
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        if self.stored is not None:
            days = self.stored()
            if day in days.workdays:
                return True
            if day in days.holidays:
                return False
        if self.settings.country == "CN":
            import chinese_calendar
            try:
                return chinese_calendar.is_workday(day)
            except NotImplementedError:
                # The package knows each year once the State Council publishes it.
                if day.year not in self._warned:
                    self._warned.add(day.year)
                    log.warning("no official calendar for %s yet: counting Monday-Friday; an admin adds its "
                                "holidays at /staff/calendar in the workspace", day.year)
        return day.weekday() not in self.settings.weekend

    def years_without_official_calendar(self, today: dt.date, days: int = CALENDAR_HORIZON_DAYS) -> list[int]:
        """Years from today to `days` ahead that neither the official calendar nor an admin covers yet."""
        entered = self.stored().years if self.stored is not None else set()
        return years_without_official_calendar(self.settings, today, days, entered)

    def nth_workday_after(self, day: dt.date, n: int) -> dt.date:
        count = 0
        while count < n:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return day


@dataclass(frozen=True)
class Clock:
    """Turns the SLA settings into due dates for one organisation."""

    sla: SlaSettings
    calendar: WorkCalendar
    zone: ZoneInfo

    def today(self) -> dt.date:
        """Today's date where the organisation is."""
        return dt.datetime.now(self.zone).date()

    def end_of_workdays(self, start: dt.datetime, n: int) -> dt.datetime:
        local_day = start.astimezone(self.zone).date()
        due_day = self.calendar.nth_workday_after(local_day, n)
        return dt.datetime.combine(due_day, dt.time(23, 59, 59), tzinfo=self.zone).astimezone(dt.UTC)

    def assessment_due(self, received: dt.datetime) -> dt.datetime:
        return received + dt.timedelta(hours=self.sla.assessment_hours)

    def first_response_due(self, received: dt.datetime, level: int) -> dt.datetime:
        limit = self.sla.levels[level]
        if limit.hours is not None:
            return received + dt.timedelta(hours=limit.hours)
        assert limit.working_days is not None  # the settings require one of the two
        return self.end_of_workdays(received, limit.working_days)

    def resolution_due(self, received: dt.datetime, level: int) -> dt.datetime | None:
        """Urgent complaints are handled within a fixed number of hours."""
        hours = self.sla.levels[level].resolve_hours
        return received + dt.timedelta(hours=hours) if hours else None

    def result_due(self, investigation_ended: dt.datetime) -> dt.datetime:
        return self.end_of_workdays(investigation_ended, self.sla.result_working_days)


def make_clock(kb, engine: Engine | None = None) -> Clock:
    """The organisation's clock; with the database's engine, the days admins entered count too."""
    stored = None
    if engine is not None:
        from .holidays import StoredDays
        stored = StoredDays(engine)
    return Clock(kb.process.sla, WorkCalendar(kb.process.calendar, stored), ZoneInfo(kb.timezone))
