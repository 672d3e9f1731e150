"""The transactional outbox: notifications written with the change that causes them, delivered later.

`put` adds a message to the caller's transaction, so it commits or rolls
back with the complaint change (a crash loses nothing, a refused change
sends nothing). Workers (worker.py) `claim` due messages: on PostgreSQL with
FOR UPDATE SKIP LOCKED, so several workers never take the same row; on
SQLite the claiming UPDATE holds the database's one write lock. A claim is
a lease: a worker killed mid-delivery gives its messages up when the lease
runs out, and another worker retries them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from .models import DeliveryAttempt, OutboxMessage, PendingNotice, utcnow
from .queue import LIST_PAGE_SIZE, RowsPage, page_of

PENDING, SENT, DEAD = "pending", "sent", "dead"
MAX_BACKOFF = dt.timedelta(hours=1)
URGENT_KINDS = ("urgent", "emergency_alert")
"""Safety notices and emergency alerts: a worker sends these at once even while the machine is busy (pace.py)."""
# The updates below name their rows by key: the session has nothing to bring up to date (SQLAlchemy's default
# evaluates each update's criteria against every object it holds, a third of a delivery's database work).
_BLIND = {"synchronize_session": False}


@dataclass(frozen=True)
class Planned:
    """One message to put in the outbox."""

    dedupe_key: str
    kind: str
    audience: str
    channel: str
    recipient: str | None
    language: str
    context: dict[str, Any]
    complaint_id: int | None = None


def put(session: Session, messages: list[Planned], now: dt.datetime | None = None) -> int:
    """Add messages to the caller's transaction, skipping any whose key is already there; return how many.

    Keys of reminders and digests repeat by design (every worker's scan
    plans them): the insert does nothing on a key that exists, in both
    databases, instead of failing the caller's transaction.
    """
    if not messages:
        return 0
    from sqlalchemy.dialects import postgresql, sqlite
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    now = now or utcnow()
    # Most repeated keys are already there (a reminder planned every minute): one query finds them, instead
    # of an insert each that does nothing.
    keys = [m.dedupe_key[:200] for m in messages]
    there: set[str] = set()
    for i in range(0, len(keys), 500):
        there.update(session.scalars(select(OutboxMessage.dedupe_key).where(
            OutboxMessage.dedupe_key.in_(keys[i:i + 500]))))
    rows = []
    for m in messages:
        key = m.dedupe_key[:200]
        if key not in there:
            there.add(key)  # a key planned twice in one call: the first one counts
            rows.append({"dedupe_key": key, "kind": m.kind, "audience": m.audience, "channel": m.channel,
                         "recipient": m.recipient, "language": m.language, "context": m.context,
                         "complaint_id": m.complaint_id, "status": PENDING, "attempts": 0, "next_attempt_at": now,
                         "created_at": now})
    if not rows:
        return 0
    # One statement for all rows, on the table (its column types encrypt and store UTC as the ORM would); the
    # ORM's per-row bookkeeping for an insert of the entity was a third of the worker's planning.
    table = OutboxMessage.__table__
    inserted = session.execute(dialect.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
                               .returning(table.c.id), rows)
    return len(inserted.all())  # rowcount is -1 on PostgreSQL for this statement


def delivery_id(message: OutboxMessage) -> str:
    """The same for every attempt at one message (Message-ID, X-KB-Delivery): a receiver can drop a repeat."""
    return f"kb-{message.id}-{hashlib.sha256(message.dedupe_key.encode('utf-8')).hexdigest()[:12]}"


def claim(session: Session, worker: str, limit: int, lease: dt.timedelta, now: dt.datetime | None = None,
          channels: list[str] | None = None, kinds: tuple[str, ...] | None = None) -> list[OutboxMessage]:
    """Take up to `limit` due messages (on these channels, of these kinds) for this worker until the lease ends;
    commit the claim."""
    now = now or utcnow()
    due = (select(OutboxMessage.id)
           .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now,
                  or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
           .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
    if channels is not None:
        due = due.where(OutboxMessage.channel.in_(channels))
    if kinds is not None:
        due = due.where(OutboxMessage.kind.in_(kinds))
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(session.scalars(due))
    if not ids:
        session.rollback()
        return []
    session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids))
                    .values(claimed_by=worker, claimed_until=now + lease).execution_options(**_BLIND))
    session.commit()
    return list(session.scalars(select(OutboxMessage).where(
        OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == worker).order_by(OutboxMessage.id)))


def renew(session: Session, message: OutboxMessage, worker: str, lease: dt.timedelta,
          now: dt.datetime | None = None) -> bool:
    """Extend this worker's claim on a message just before sending it; False: it is no longer ours.

    A batch is claimed at once but sent one message at a time: without this,
    a slow batch outlives its lease and another worker sends its tail too.
    """
    now = now or utcnow()
    result = session.execute(update(OutboxMessage).where(
        OutboxMessage.id == message.id, OutboxMessage.claimed_by == worker, OutboxMessage.status == PENDING,
        OutboxMessage.claimed_until >= now).values(claimed_until=now + lease).execution_options(**_BLIND))
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def delivered(session: Session, message: OutboxMessage, worker: str, now: dt.datetime | None = None) -> None:
    """Record a delivery and commit: the message is sent and never tried again."""
    now = now or utcnow()
    session.add(DeliveryAttempt(message_id=message.id, at=now, worker=worker, ok=True))
    # A complainant's message kept its text and tracking code only until it went.
    forget: dict[str, Any] = {"context": {}} if message.audience == "complainant" else {}
    session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id).values(
        status=SENT, sent_at=now, attempts=OutboxMessage.attempts + 1, claimed_by=None, claimed_until=None,
        last_error=None, **forget).execution_options(**_BLIND))
    session.commit()


def failed(session: Session, message: OutboxMessage, worker: str, error: str, permanent: bool, max_attempts: int,
           backoff: dt.timedelta, now: dt.datetime | None = None) -> str:
    """Record a failed attempt and commit; retry later with a doubled wait, or give up (a dead letter)."""
    now = now or utcnow()
    attempts = message.attempts + 1
    dead = permanent or attempts >= max_attempts
    wait = min(backoff * (2 ** (attempts - 1)), MAX_BACKOFF)
    session.add(DeliveryAttempt(message_id=message.id, at=now, worker=worker, ok=False, error=error[:2000]))
    session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id).values(
        status=DEAD if dead else PENDING, attempts=attempts, next_attempt_at=now + wait, claimed_by=None,
        claimed_until=None, last_error=error[:2000]).execution_options(**_BLIND))
    session.commit()
    return DEAD if dead else PENDING


def resend(session: Session, message_id: int, now: dt.datetime | None = None) -> bool:
    """A dead letter goes back to the queue with a fresh count of attempts (an admin fixed the cause)."""
    result = session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id,
                                                         OutboxMessage.status == DEAD)
                             .values(status=PENDING, attempts=0, next_attempt_at=now or utcnow(), last_error=None))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def dead_letters(session: Session, page: int = 1, per_page: int = LIST_PAGE_SIZE) -> RowsPage:
    """Dead letters newest first, by pages with the total (the status index finds them)."""
    return page_of(session, select(OutboxMessage).where(OutboxMessage.status == DEAD), (OutboxMessage.id.desc(),),
                   page, per_page)


def attempts_of(session: Session, message_id: int) -> list[DeliveryAttempt]:
    return list(session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.message_id == message_id)
                                .order_by(DeliveryAttempt.id)))


def counts(session: Session) -> dict[str, int]:
    """Messages per status (the workspace's outbox page and `kb outbox`), and changes the worker has still to plan."""
    rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    out = {status: n for status, n in rows}
    waiting = session.scalar(select(func.count()).select_from(PendingNotice)) or 0
    if waiting:
        out["unplanned"] = waiting
    return out


def forget_complainant(session: Session, complaint_id: int) -> None:
    """The complainant's identity is erased: their undelivered messages go, and no sent one keeps the address."""
    session.execute(delete(OutboxMessage).where(
        OutboxMessage.complaint_id == complaint_id, OutboxMessage.audience == "complainant",
        OutboxMessage.status != SENT).execution_options(synchronize_session=False))
    session.execute(update(OutboxMessage).where(
        and_(OutboxMessage.complaint_id == complaint_id, OutboxMessage.audience == "complainant"))
        .values(recipient=None, context={}).execution_options(synchronize_session=False))
