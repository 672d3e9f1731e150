"""The staff queue: filters, and which time limits each open complaint is against."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .auth import visible
from .models import Complaint, StaffUser, utcnow
from .workflow import OPEN_STATUSES

DEADLINE_LABELS = {
    "assessment": ("初步评估", "Initial assessment"),
    "first_response": ("首次答复", "First response"),
    "resolution": ("紧急处理完毕", "Urgent: handled"),
    "result": ("反馈结果", "Result fed back"),
}


@dataclass(frozen=True)
class Deadline:
    kind: str
    due_at: dt.datetime

    def overdue(self, now: dt.datetime) -> bool:
        return self.due_at < now


def pending_deadlines(c: Complaint) -> list[Deadline]:
    """The time limits this complaint has not met yet, soonest first."""
    if c.status not in OPEN_STATUSES:
        return []
    out = []
    if c.assessed_at is None:
        out.append(Deadline("assessment", c.assessment_due_at))
    if c.first_responded_at is None and c.first_response_due_at is not None:
        out.append(Deadline("first_response", c.first_response_due_at))
    if c.resolved_at is None and c.resolution_due_at is not None:
        out.append(Deadline("resolution", c.resolution_due_at))
    if c.resolved_at is None and c.result_due_at is not None:
        out.append(Deadline("result", c.result_due_at))
    return sorted(out, key=lambda d: d.due_at)


def next_deadline(c: Complaint) -> Deadline | None:
    pending = pending_deadlines(c)
    return pending[0] if pending else None


def is_overdue(c: Complaint, now: dt.datetime) -> bool:
    return any(d.overdue(now) for d in pending_deadlines(c))


def is_due_soon(c: Complaint, now: dt.datetime, hours: int) -> bool:
    return any(now <= d.due_at < now + dt.timedelta(hours=hours) for d in pending_deadlines(c))


def queue(session: Session, user: StaffUser, status: str | None = None, level: int | None = None,
          team: str | None = None, due: str | None = None, due_soon_hours: int = 8,
          now: dt.datetime | None = None) -> list[Complaint]:
    """Complaints the user may see, filtered; `due` is 'overdue' or 'soon'. Most urgent first."""
    now = now or utcnow()
    query = visible(select(Complaint), user)
    if status == "open":
        query = query.where(Complaint.status.in_(OPEN_STATUSES))
    elif status:
        query = query.where(Complaint.status == status)
    if level:
        query = query.where(Complaint.level == level)
    if team:
        query = query.where(Complaint.team == team)
    items = list(session.scalars(query.order_by(Complaint.id.desc()).limit(2000)))
    if due == "overdue":
        items = [c for c in items if is_overdue(c, now)]
    elif due == "soon":
        items = [c for c in items if is_due_soon(c, now, due_soon_hours)]
    far = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    return sorted(items, key=lambda c: (c.level, (next_deadline(c).due_at if next_deadline(c) else far), -c.id))
