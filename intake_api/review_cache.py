"""The quarterly review's figures, computed by the worker and kept per quarter (issue 25).

A review reads every complaint of its quarter: seconds at 50,000 complaints, and a request that takes
longer than gunicorn's worker timeout is killed (HTTP 500). So a request never computes a review that may
be long. It reads the figures kept here; a quarter with at most `review.inline_max_complaints` complaints
is still computed in the request when nothing fresh is kept (a second or two), any larger one is asked of
the worker, and the page says it is being prepared (or shows the figures kept, with the time they were
computed, while newer ones are prepared).

When kept figures are stale:
- a quarter that is over: when its `stamp` changed. The stamp is what the figures were computed from: the
  quarter's complaints (how many, their latest change: a late reopen, a correction, a rating, a purge all
  touch `updated_at`), their follow-up calls, its deflections and how many of them turned out false. Reading
  it is one indexed aggregate per table over the quarter, milliseconds where the review takes seconds.
- the quarter still running: after `review.open_max_age_minutes` (its figures move with every complaint
  and with the clock).

The breach list is kept beside the figures, in its order (review_breaches): a page of it is a key range, where
computing it sorts every breach of the quarter each time a page is shown.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import metrics, timeliness
from .models import Complaint, Deflection, FollowUp, ReviewBreach, ReviewCache, utcnow

log = logging.getLogger("kb.review")
CLAIM = dt.timedelta(minutes=30)  # a worker that died computing: another takes the quarter after this long


@dataclass(frozen=True)
class Kept:
    """The figures to show (None: none yet) and whether they are current; `computed_at` says when."""

    data: dict | None
    computed_at: dt.datetime | None
    current: bool
    requested: bool = False  # the worker has been asked for newer figures


def stamp(session: Session, period: metrics.Period) -> str:
    """What a quarter's figures depend on that can change after the quarter is over, as one short string."""
    received = (Complaint.received_at >= period.start) & (Complaint.received_at < period.end)
    n, changed = session.execute(select(func.count(), func.max(Complaint.updated_at)).where(received)).one()
    calls = session.scalar(select(func.count(FollowUp.id)).join(Complaint, Complaint.id == FollowUp.complaint_id)
                           .where(received)) or 0
    made = (Deflection.created_at >= period.start) & (Deflection.created_at < period.end)
    deflected, false = session.execute(select(func.count(), func.count(Deflection.contradicted_at)).where(made)).one()
    latest = changed.strftime("%Y%m%d%H%M%S%f") if isinstance(changed, dt.datetime) else str(changed or "-")
    return f"{n}:{latest}:{calls}:{deflected}:{false}"


def size(session: Session, period: metrics.Period) -> int:
    """How many complaints the quarter has: what a review of it costs grows with this."""
    return session.scalar(select(func.count()).select_from(Complaint).where(
        (Complaint.received_at >= period.start) & (Complaint.received_at < period.end))) or 0


def read(session: Session, kb, period: metrics.Period, weights: Any, now: dt.datetime | None = None,
         may_compute: bool | None = None) -> Kept:
    """The quarter's figures: kept ones while current, else computed now if it may (small quarter, or a command
    line: may_compute=True), else kept ones or none, the worker asked for new ones. Commits what it writes."""
    from .report import figures
    now = now or utcnow()
    closed = period.end <= now
    if may_compute is None:
        may_compute = size(session, period) <= kb.review.inline_max_complaints
    if may_compute and not closed:  # a running quarter that is quick to compute: live figures, nothing kept
        return Kept(figures(session, kb, period, weights, now), now, True)
    row = session.get(ReviewCache, period.label)
    current_stamp = stamp(session, period) if closed else None
    if row is not None and row.data is not None and _current(kb, row, closed, current_stamp, now):
        return Kept(decode(row.data), row.computed_at, True)
    if may_compute:
        return Kept(compute(session, kb, period, weights, now), now, True)
    request(session, period.label, now)
    return Kept(decode(row.data) if row is not None and row.data is not None else None,
                row.computed_at if row is not None else None, False, requested=True)


def _current(kb, row: ReviewCache, closed: bool, current_stamp: str | None, now: dt.datetime) -> bool:
    if closed:
        return row.stamp == current_stamp
    age = now - row.computed_at if row.computed_at is not None else None
    return age is not None and age < dt.timedelta(minutes=kb.review.open_max_age_minutes)


def compute(session: Session, kb, period: metrics.Period, weights: Any, now: dt.datetime | None = None) -> dict:
    """Compute the quarter's figures and keep them (with the stamp read before: a change meanwhile makes them stale)."""
    from .report import figures
    now = now or utcnow()
    before = stamp(session, period)
    started = time.perf_counter()
    data = figures(session, kb, period, weights, now)
    total, rows = timeliness.breaches(session, period, metrics.as_of(period, now))
    data["breach_total"] = total
    seconds = time.perf_counter() - started
    _store(session, period.label, encode(data), before, now, seconds, rows)
    log.info("review %s computed in %.1f s", period.label, seconds)
    return data


def _store(session: Session, quarter: str, data: dict, stamp_: str, now: dt.datetime, seconds: float,
           breaches: list[dict]) -> None:
    values = {"data": data, "stamp": stamp_, "computed_at": now, "seconds": seconds, "requested_at": None,
              "claimed_at": None}
    if not session.execute(update(ReviewCache).where(ReviewCache.quarter == quarter).values(**values)).rowcount:  # type: ignore[attr-defined]
        try:
            with session.begin_nested():
                session.add(ReviewCache(quarter=quarter, **values))
        except IntegrityError:  # another request or worker stored it first: ours replaces it below
            session.execute(update(ReviewCache).where(ReviewCache.quarter == quarter).values(**values))
    session.execute(delete(ReviewBreach).where(ReviewBreach.quarter == quarter))
    if breaches:
        session.execute(insert(ReviewBreach), [
            {"quarter": quarter, "seq": i, "number": b["number"], "kind": b["kind"], "due": b["due"], "done": b["done"],
             "level": b["level"], "team": b["team"], "about": b["about"], "late_hours": b["late_hours"]}
            for i, b in enumerate(breaches)])
    session.commit()


def breach_page(session: Session, quarter: str, offset: int = 0, limit: int | None = None) -> list[dict]:
    """Kept breaches from `offset` (`limit` of them, or all) as timeliness.breaches gives them: a key range."""
    query = select(ReviewBreach).where(ReviewBreach.quarter == quarter, ReviewBreach.seq >= offset)
    if limit is not None:
        query = query.where(ReviewBreach.seq < offset + limit)
    return [{"number": b.number, "kind": b.kind, "due": b.due, "done": b.done, "level": b.level, "team": b.team,
             "about": b.about, "late_hours": b.late_hours, "unmet": b.done is None}
            for b in session.scalars(query.order_by(ReviewBreach.seq))]


def request(session: Session, quarter: str, now: dt.datetime) -> None:
    """Ask the worker for the quarter's figures (once: a request already waiting stays as it is)."""
    if not session.execute(update(ReviewCache).where(ReviewCache.quarter == quarter, ReviewCache.requested_at.is_(None))
                           .values(requested_at=now)).rowcount:  # type: ignore[attr-defined]
        if session.get(ReviewCache, quarter) is None:
            try:
                with session.begin_nested():
                    session.add(ReviewCache(quarter=quarter, requested_at=now))
            except IntegrityError:
                pass
    session.commit()


def prepare_requested(session: Session, kb, weights: Any, now: dt.datetime | None = None) -> list[str]:
    """The worker's part: compute every quarter asked for that no other worker is computing; the quarters done."""
    now = now or utcnow()
    done = []
    zone = metrics.ZoneInfo(kb.timezone)
    asked = list(session.scalars(select(ReviewCache.quarter).where(
        ReviewCache.requested_at.is_not(None),
        or_(ReviewCache.claimed_at.is_(None), ReviewCache.claimed_at < now - CLAIM))))
    for quarter in asked:
        claimed = session.execute(update(ReviewCache).where(
            ReviewCache.quarter == quarter, ReviewCache.requested_at.is_not(None),
            or_(ReviewCache.claimed_at.is_(None), ReviewCache.claimed_at < now - CLAIM)).values(claimed_at=now))
        session.commit()
        if not claimed.rowcount:  # type: ignore[attr-defined]
            continue  # another worker took it
        compute(session, kb, metrics.Period.quarter(quarter, zone), weights, now)
        done.append(quarter)
    return done


# JSON keeps no datetimes: the few in the figures (corrective actions' due dates) are tagged and given back.
def encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$datetime"}:
            return dt.datetime.fromisoformat(value["$datetime"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value
