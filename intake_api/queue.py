"""The staff queue: filters, and which time limits each open complaint is against."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from .i18n import N_
from .models import Complaint, UTCDateTime, utcnow
from .workflow import OPEN_STATUSES

PAGE_SIZE = 100
LIST_PAGE_SIZE = 50  # alerts, dead letters, the audit, phrasings, corrective actions: longer rows
MAX_PAGE_SIZE = 500
FAR = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)  # "no deadline": sorts after every real one

DEADLINE_LABELS = {
    "assessment": N_("Initial assessment"),
    "first_response": N_("First response"),
    "resolution": N_("Urgent: handled"),
    "result": N_("Result fed back"),
    "promise": N_("Promised repair or delivery"),
    "review": N_("Supervisor review"),
}
# Every time limit of the process, once: its kind, the column it is due at, the column that says it was
# met. The queue's order, its filters (in SQL), the SLA reminders and the review all read this table.
LIMITS = (
    ("assessment", "assessment_due_at", "assessed_at"),
    ("first_response", "first_response_due_at", "first_responded_at"),
    ("resolution", "resolution_due_at", "resolved_at"),
    ("result", "result_due_at", "resolved_at"),
    ("promise", "promise_due_at", "promise_kept_at"),
    ("review", "review_due_at", "reviewed_at"),
)


@dataclass(frozen=True)
class Deadline:
    kind: str
    due_at: dt.datetime

    def overdue(self, now: dt.datetime) -> bool:
        return self.due_at < now


def pending_deadlines(c: Complaint) -> list[Deadline]:
    """The time limits this complaint has not met yet, soonest first."""
    out = [Deadline(kind, getattr(c, due)) for kind, due, done in LIMITS
           if getattr(c, due) is not None and getattr(c, done) is None and limit_open(kind, c.status)]
    return sorted(out, key=lambda d: d.due_at)


def limit_open(kind: str, status: str) -> bool:
    """Whether a limit still runs in this status: a promised repair outlives the result, until closing."""
    return status != "closed" if kind == "promise" else status in OPEN_STATUSES


def next_deadline(c: Complaint) -> Deadline | None:
    pending = pending_deadlines(c)
    return pending[0] if pending else None


def is_overdue(c: Complaint, now: dt.datetime) -> bool:
    return any(d.overdue(now) for d in pending_deadlines(c))


def is_due_soon(c: Complaint, now: dt.datetime, hours: int) -> bool:
    return any(now <= d.due_at < now + dt.timedelta(hours=hours) for d in pending_deadlines(c))


class least(FunctionElement):
    """The smallest of its arguments: LEAST() in PostgreSQL, the multi-argument min() in SQLite."""

    type = UTCDateTime()
    inherit_cache = True
    name = "least"


@compiles(least)
def _least(element, compiler, **kw):
    return f"least({compiler.process(element.clauses, **kw)})"


@compiles(least, "sqlite")
def _least_sqlite(element, compiler, **kw):
    return f"min({compiler.process(element.clauses, **kw)})"


def _pending_columns():
    """pending_deadlines() as SQL: each limit's due time while it is unmet, else FAR."""
    far = literal(FAR, UTCDateTime())
    c = Complaint
    columns = []
    for kind, due_name, done_name in LIMITS:
        due, done = getattr(c, due_name), getattr(c, done_name)
        runs = c.status != "closed" if kind == "promise" else c.status.in_(OPEN_STATUSES)  # limit_open in SQL
        columns.append(case((runs & done.is_(None) & due.is_not(None), due), else_=far))
    return columns


def next_due_column():
    """next_deadline(c).due_at as SQL (FAR when nothing is pending): what the queue sorts by."""
    return least(*_pending_columns())


@dataclass(frozen=True)
class QueuePage:
    items: list[Complaint]
    total: int      # every complaint the filters match, on all pages
    page: int       # 1-based
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class RowsPage(QueuePage):
    """A page of any list (e.g. tasks with their complaint): the same paging, rows as the query gives them."""

    items: list


def page_of(session: Session, query, order: tuple, page: int, per_page: int) -> RowsPage:
    """One page of query in this order, with the total over every page (a late page is clamped to the last)."""
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = [tuple(r) if len(r) > 1 else r[0] for r in session.execute(
        query.order_by(*order).offset((page - 1) * per_page).limit(per_page))]
    return RowsPage(items=rows, total=total, page=page, per_page=per_page)


def queue(session: Session, visible: Callable, status: str | None = None, level: int | None = None,
          team: str | None = None, due: str | None = None, due_soon_hours: int = 8,
          now: dt.datetime | None = None, page: int = 1, per_page: int = PAGE_SIZE) -> QueuePage:
    """Complaints `visible` lets through (the desk's permission rule), filtered; `due` is 'overdue' or 'soon'. Most urgent first, by pages.

    Filtering, ordering (level, then the next unmet limit, then newest) and
    paging all happen in the database, so no open complaint is ever left out
    of its queue however many there are.
    """
    now = now or utcnow()
    query = visible(select(Complaint))
    if status == "open":  # open work: an unkept promise keeps a resolved complaint in it
        query = query.where(Complaint.status.in_(OPEN_STATUSES) | (
            (Complaint.status == "resolved") & Complaint.promise_due_at.is_not(None)
            & Complaint.promise_kept_at.is_(None)))
    elif status:
        query = query.where(Complaint.status == status)
    if level:
        query = query.where(Complaint.level == level)
    if team:
        query = query.where(Complaint.team == team)
    next_due = next_due_column()
    if due == "overdue":
        query = query.where(next_due < now)
    elif due == "soon":
        soon = now + dt.timedelta(hours=due_soon_hours)
        query = query.where(or_(*[(col >= now) & (col < soon) for col in _pending_columns()]))
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    items = list(session.scalars(query.order_by(Complaint.level, next_due, Complaint.id.desc())
                                 .offset((page - 1) * per_page).limit(per_page)))
    return QueuePage(items=items, total=total, page=page, per_page=per_page)
