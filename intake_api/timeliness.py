"""Every time limit of the process measured honestly, in grouped SQL queries.

The review once counted only answered complaints, so a quarter with dozens of complaints overdue and
unanswered showed 97 % on time. Here a limit whose due time passed before the report's end date
(`as_of`) without being met is a breach, exactly like one met late. Each limit of queue.LIMITS is
counted: assessment, first response, urgent handling, result, promised repair, supervisor review.
Only counts and elapsed hours leave the database, never Complaint objects (50,000 a quarter must stay fast).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, case, func, literal, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from .models import Complaint, UTCDateTime
from .queue import LIMITS


class hours_between(FunctionElement):
    """(later - earlier) in hours, as a float: epoch arithmetic in PostgreSQL, julianday() in SQLite."""

    type = Float()
    inherit_cache = True
    name = "hours_between"


@compiles(hours_between)
def _hours_pg(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({later}) - ({earlier})) / 3600.0)"


@compiles(hours_between, "sqlite")
def _hours_sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 24.0)"


def columns(kind: str):
    """The due and met columns of one limit (queue.LIMITS is the one table of them)."""
    _, due, done = next(row for row in LIMITS if row[0] == kind)
    return getattr(Complaint, due), getattr(Complaint, done)


def states(kind: str, as_of: dt.datetime):
    """SQL conditions (in time, breached, still running) of one limit as of the report's end date."""
    due, done = columns(kind)
    cutoff = literal(as_of, UTCDateTime())
    in_time = done.is_not(None) & (done <= due)
    late = (done.is_not(None) & (done > due)) | (done.is_(None) & (due < cutoff))
    running = done.is_(None) & (due >= cutoff)
    return in_time, late, running


@dataclass
class LimitFigures:
    """One limit (optionally for one level or group): how many were due, met in time, breached, still running."""

    kind: str
    level: int | None
    due: int = 0
    in_time: int = 0
    late: int = 0
    running: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None
    hours: list[float] = field(default_factory=list, repr=False)

    @property
    def measured(self) -> int:
        return self.in_time + self.late

    @property
    def on_time(self) -> float | None:
        """Share met in time among those decided (met, or overdue unmet); None when none is."""
        return self.in_time / self.measured if self.measured else None

    def finish(self) -> LimitFigures:
        self.median_hours, self.p90_hours = percentile(self.hours, 0.5), percentile(self.hours, 0.9)
        return self

    def row(self) -> dict[str, Any]:
        return {"kind": self.kind, "level": self.level, "due": self.due, "in_time": self.in_time,
                "late": self.late, "running": self.running, "on_time": self.on_time,
                "median_hours": self.median_hours, "p90_hours": self.p90_hours}


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile (the value at rank ceil(q·n)), rounded to 0.1 h; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 1)


def _received(period) -> Any:
    return (Complaint.received_at >= period.start) & (Complaint.received_at < period.end)


def limits(session: Session, period, as_of: dt.datetime) -> list[dict]:
    """Each limit overall and per level, for complaints received in the period.

    Times are hours from receipt to meeting the limit; an overdue unmet one counts up to `as_of`
    (a lower bound: leaving it out would flatter the median and the 90th percentile).
    """
    cutoff = literal(as_of, UTCDateTime())
    counts = grouped(session, period, as_of, Complaint.level, per_limit=True)
    figures: dict[str, tuple[LimitFigures, dict[int, LimitFigures]]] = {}
    for kind, _, _ in LIMITS:
        per_level = {level: LimitFigures(kind, level) for (k, level) in counts if k == kind}
        for level, fig in per_level.items():
            for name, value in counts[(kind, level)].items():
                setattr(fig, name, value)
        overall = LimitFigures(kind, None)
        for name in ("due", "in_time", "late", "running"):
            setattr(overall, name, sum(getattr(f, name) for f in per_level.values()))
        figures[kind] = (overall, per_level)
    # Only the decided ones' hours leave the database, for the percentiles (SQLite has no percentile_cont):
    # one scan, one column per limit.
    hours_of = []
    for kind, _, _ in LIMITS:
        due, done = columns(kind)
        in_time, late, _ = states(kind, as_of)
        hours_of.append(case((in_time | late, hours_between(func.coalesce(done, cutoff), Complaint.received_at)),
                             else_=None))
    for level, *hours in session.execute(select(Complaint.level, *hours_of).where(_received(period))):
        for (kind, _, _), h in zip(LIMITS, hours):
            if h is not None:
                overall, per_level = figures[kind]
                overall.hours.append(float(h))
                per_level[level].hours.append(float(h))
    out: list[dict] = []
    for kind, _, _ in LIMITS:
        overall, per_level = figures[kind]
        out.append(overall.finish().row())
        if kind == "first_response":  # one limit per level (the SOP's 24 h / 1 / 3 working days)
            out += [per_level[lv].finish().row() for lv in sorted(per_level)]
    return out


def grouped(session: Session, period, as_of: dt.datetime, by, per_limit: bool = False) -> dict[Any, dict[str, int]]:
    """On-time counts per value of one column (level, department, team, handler), in one grouped query per limit.

    {group: {"due", "in_time", "late", "running"}}, every limit added together; per_limit: keyed by (kind, group).
    """
    aggregates = []
    for kind, _, _ in LIMITS:  # every limit in one scan: four aggregates each
        due, _ = columns(kind)
        in_time, late, running = states(kind, as_of)
        aggregates += [func.count(due), func.sum(case((in_time, 1), else_=0)), func.sum(case((late, 1), else_=0)),
                       func.sum(case((running, 1), else_=0))]
    out: dict[Any, dict[str, int]] = {}
    for key, *values in session.execute(select(by, *aggregates).where(_received(period)).group_by(by)):
        for i, (kind, _, _) in enumerate(LIMITS):
            n, ok, bad, run = (int(v or 0) for v in values[4 * i:4 * i + 4])
            if per_limit:
                if n:
                    out[(kind, key)] = {"due": n, "in_time": ok, "late": bad, "running": run}
                continue
            acc = out.setdefault(key, {"due": 0, "in_time": 0, "late": 0, "running": 0})
            acc["due"] += n
            acc["in_time"] += ok
            acc["late"] += bad
            acc["running"] += run
    return out


def breach_query(period, as_of: dt.datetime):
    """Every breach of every limit as one SQL union, ordered by due time: number, kind, due, met, level, team."""
    parts = []
    for kind, _, _ in LIMITS:
        due, done = columns(kind)
        _, late, _ = states(kind, as_of)
        parts.append(select(Complaint.number.label("number"), literal(kind).label("kind"), due.label("due"),
                            done.label("done"), Complaint.level.label("level"), Complaint.team.label("team"),
                            Complaint.about_department.label("about"))
                     .where(_received(period), due.is_not(None), late))
    return union_all(*parts).subquery()


def breaches(session: Session, period, as_of: dt.datetime, offset: int = 0,
             limit: int | None = None) -> tuple[int, list[dict]]:
    """(how many breaches in all, the breaches from `offset`, `limit` of them or all): the list is complete."""
    sub = breach_query(period, as_of)
    total = session.scalar(select(func.count()).select_from(sub)) or 0
    query = select(sub).order_by(sub.c.due, sub.c.number, sub.c.kind).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    rows = []
    for r in session.execute(query):
        due, done = _aware(r.due), _aware(r.done)
        late_by = ((done or as_of) - due).total_seconds() / 3600
        rows.append({"number": r.number, "kind": r.kind, "due": due, "done": done, "level": r.level,
                     "team": r.team, "about": r.about, "late_hours": round(late_by, 1), "unmet": done is None})
    return total, rows


def _aware(moment: Any) -> Any:
    """A union's datetime as aware UTC (the naive UTC the database keeps, when the driver hands it back bare)."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment.replace(tzinfo=dt.UTC) if isinstance(moment, dt.datetime) and moment.tzinfo is None else moment
