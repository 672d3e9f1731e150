"""Privacy chores: key rotation, retention purge, identity erasure, small-count suppression."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from . import crypto, outbox
from .models import Attachment, Complaint, ComplaintEvent, IdempotencyKey, Message, utcnow
from .process import SYSTEM, record

IDENTITY = ("name", "department", "position", "contact", "notify_email")
PURGED = "[已按保存期限清除 · removed after the retention period]"
OTHER = "其他 · other"


# Every encrypted column, by table: what `kb keys rotate` re-encrypts.
ENCRYPTED = {"complaints": IDENTITY, "outbox": ("recipient", "context"), "idempotency_keys": ("code",)}
KEYS = {"complaints": "id", "outbox": "id", "idempotency_keys": "key_hash"}


def rotate_keys(session: Session) -> int:
    """Re-encrypt every encrypted field with the first (newest) key; return how many rows changed."""
    changed = 0
    for table, columns in ENCRYPTED.items():
        key = KEYS[table]
        rows = session.execute(text(f"SELECT {key}, {', '.join(columns)} FROM {table}")).fetchall()
        assignments = ", ".join(f"{col} = :{col}" for col in columns)
        for row in rows:
            if all(v is None for v in row[1:]):
                continue
            values = {col: crypto.rotate(val) for col, val in zip(columns, row[1:])}
            session.execute(text(f"UPDATE {table} SET {assignments} WHERE {key} = :key"), dict(values, key=row[0]))
            changed += 1
    return changed


def erase_identity(session: Session, c: Complaint, actor: str, reason: str) -> None:
    """Forget who complained (a named complainant's request); the history says that it happened."""
    for col in IDENTITY:
        setattr(c, col, None)
    if c.disclosure != "anonymous":
        c.disclosure = "anonymous"
    c.anonymous = True
    outbox.forget_complainant(session, c.id)
    record(session, c, actor, "identity_erased", None, None, note=reason)


def purge(session: Session, retention_days: int, now: dt.datetime | None = None, dry_run: bool = False,
          removed_files: list[str] | None = None) -> list[str]:
    """Strip text and identity from closed complaints older than the retention period.

    What the aggregate figures need stays: category, level, channel, team,
    status, dates and the rating. Attachments are deleted: their rows here,
    and the storage ids are added to `removed_files`, whose files the caller
    deletes once this is committed (Desk.purge).
    """
    cutoff = (now or utcnow()) - dt.timedelta(days=retention_days)
    old = session.scalars(select(Complaint).where(Complaint.status == "closed", Complaint.closed_at < cutoff,
                                                  Complaint.purged_at.is_(None))).all()
    if dry_run:
        return [c.number for c in old]
    # Idempotency records hold tracking codes; they are needed for a day at most.
    for row in session.scalars(select(IdempotencyKey).where(
            IdempotencyKey.created_at < (now or utcnow()) - dt.timedelta(days=1))):
        session.delete(row)
    for c in old:
        for col in IDENTITY:
            setattr(c, col, None)
        c.description = c.request = c.location = PURGED
        c.response = PURGED if c.response else None
        c.rating_comment = None
        c.shown_articles = []
        c.purged_at = now or utcnow()
        outbox.forget_complainant(session, c.id)
        for a in session.scalars(select(Attachment).where(Attachment.complaint_id == c.id)):
            if removed_files is not None:
                removed_files.append(a.storage_id)
            session.delete(a)
        session.flush()  # the attachments first: they may point at a message
        for m in session.scalars(select(Message).where(Message.complaint_id == c.id)):
            session.delete(m)
        for e in session.scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id == c.id)):
            # Keep who did what when; drop the free text that may describe people.
            if e.action in ("response", "question", "answer", "attachment"):
                e.from_value = e.to_value = None
            e.note = None
        record(session, c, SYSTEM, "purged", None, None, note=f"retention {retention_days} days")
    return [c.number for c in old]


def suppress_small(counts: dict[str, int], k: int) -> dict[str, int]:
    """Merge groups smaller than k into one 'other' group; if that is still small, hide its count (0).

    A report on a three-person team must not show "1 complaint" next to its name.
    """
    out = {key: n for key, n in counts.items() if n >= k}
    small = sum(n for n in counts.values() if 0 < n < k)
    if small:
        out[OTHER] = small if small >= k else 0
    return out
