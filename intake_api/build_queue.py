"""Approved articles wait here for the worker's rebuild: queued, building, done or failed.

The desk adds a publication when an article is approved (or one that waits
for an admin's second approval); the worker claims what is queued and runs
`kb build` in its own process, so no request waits for MkDocs and nobody
needs a shell. One build at a time across every worker and machine: the
claim takes the oldest queued row only while no row is building (the
database decides, in one conditional UPDATE), and kb_builder's file lock
refuses a second build on the same files. Everything queued when a build
starts is built by it: the build reads all content at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from kb_builder.errors import BuildError, KbError

from .models import Publication, utcnow

log = logging.getLogger("kb.build_queue")

AWAITING, QUEUED, BUILDING, DONE, FAILED = "awaiting", "queued", "building", "done", "failed"
STATUSES = (AWAITING, QUEUED, BUILDING, DONE, FAILED)
MAX_ATTEMPTS = 3  # abandoned builds (a worker killed mid-build) tried again before the row fails
LOCKED = "another `kb build` is running"  # kb_builder.staging.build_lock's message: wait, do not fail


def latest(session: Session, article_id: str) -> Publication | None:
    """The article's newest publication: what its page in the workspace shows."""
    return session.scalar(select(Publication).where(Publication.article_id == article_id)
                          .order_by(Publication.id.desc()).limit(1))


def recent(session: Session, limit: int = 50) -> list[Publication]:
    """Newest first: the admins' list of approvals waiting for them and of builds."""
    return list(session.scalars(select(Publication).order_by(Publication.id.desc()).limit(limit)))


def request(session: Session, article_id: str, complaint_id: int | None, who: str, queue: bool) -> Publication:
    """Record an approval: queue the build, or (queue=False) wait for an admin's second approval.

    An approval that completes one already waiting turns that row into the queued one, so the list shows who
    approved first and who second.
    """
    pending = latest(session, article_id)
    now = utcnow()
    if pending is not None and pending.status == AWAITING:
        if not queue:
            return pending  # approved again by a handler: still waiting for an admin
        row = pending
    else:
        row = Publication(article_id=article_id, complaint_id=complaint_id, status=AWAITING, requested_by=who,
                          created_at=now)
        session.add(row)
    if queue:
        row.status, row.approved_by, row.queued_at = QUEUED, who, now
    return row


def _release_abandoned(session: Session, now: dt.datetime) -> None:
    """Builds whose lease ran out (the worker died mid-build) go back to the queue, or fail after MAX_ATTEMPTS."""
    stale = list(session.scalars(select(Publication).where(Publication.status == BUILDING,
                                                           Publication.lease_until < now)))
    for row in stale:
        if row.attempts >= MAX_ATTEMPTS:
            row.status, row.finished_at = FAILED, now
            row.message = f"the build was abandoned {row.attempts} times (its worker stopped); see the worker's log"
        else:
            row.message = f"the worker {row.worker or ''} stopped during the build; queued again"
            row.status, row.worker, row.lease_until = QUEUED, None, None
    if stale:
        session.commit()


def claim(session: Session, worker: str, lease: dt.timedelta, now: dt.datetime | None = None) -> list[Publication]:
    """Take every queued publication for one build, or nothing while another build runs anywhere."""
    now = now or utcnow()
    _release_abandoned(session, now)
    first = session.scalar(select(Publication.id).where(Publication.status == QUEUED)
                           .order_by(Publication.id).limit(1))
    if first is None:
        return []
    other = aliased(Publication)
    building = exists().where(and_(other.status == BUILDING, other.lease_until >= now))
    # Concurrent claimers all pick the same oldest row; the database lets one UPDATE win it, and the
    # NOT EXISTS keeps a claim out while a committed build runs.
    taken = session.execute(update(Publication).where(Publication.id == first, Publication.status == QUEUED,
                                                      ~building)
                            .values(status=BUILDING, worker=worker, started_at=now, lease_until=now + lease,
                                    attempts=Publication.attempts + 1)
                            .execution_options(synchronize_session=False))
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return []
    session.execute(update(Publication).where(Publication.status == QUEUED, Publication.id > first)
                    .values(status=BUILDING, worker=worker, started_at=now, lease_until=now + lease,
                            attempts=Publication.attempts + 1)
                    .execution_options(synchronize_session=False))
    session.commit()
    return list(session.scalars(select(Publication).where(Publication.status == BUILDING,
                                                          Publication.worker == worker)
                                .order_by(Publication.id)))


def finish(session: Session, rows: Iterable[Publication], status: str, message: str) -> None:
    now = utcnow()
    for row in rows:
        row.status, row.message, row.finished_at, row.lease_until = status, message, now, None
        if status == QUEUED:
            row.started_at, row.finished_at, row.worker = None, None, None
            row.attempts = max(0, row.attempts - 1)
    session.commit()


def builder_message(kb, exc: BaseException) -> str:
    """The builder's error as staff read it: file and line relative to the knowledge base's folder."""
    return str(exc).replace(str(kb.root) + "/", "")


def run_next(sessions: sessionmaker, kb, worker: str) -> list[Publication]:
    """Claim what is queued and build it; return the publications built (or failed), none when idle."""
    from kb_builder.build import build

    lease = dt.timedelta(minutes=kb.publishing.build_timeout_minutes)
    with sessions() as session:
        rows = claim(session, worker, lease)
        if not rows:
            return []
        articles = ", ".join(sorted({r.article_id for r in rows}))
        log.info("building the site for %s", articles)
        try:
            result = build(kb)
        except BuildError as exc:
            if LOCKED in str(exc):  # someone ran `kb build` by hand: build again once theirs is done
                log.info("a build by hand is running; %s stays queued", articles)
                finish(session, rows, QUEUED, builder_message(kb, exc))
                return []
            log.error("build for %s failed: %s", articles, exc)
            finish(session, rows, FAILED, builder_message(kb, exc))
        except KbError as exc:
            log.error("build for %s failed: %s", articles, exc)
            finish(session, rows, FAILED, builder_message(kb, exc))
        except Exception as exc:  # a failure the builder did not foresee: said, not retried in a loop
            log.exception("build for %s failed", articles)
            finish(session, rows, FAILED, f"{type(exc).__name__}: {builder_message(kb, exc)}")
        else:
            summary = (f"{result.cases} cases, {result.sops} SOPs, {result.pages_written} pages written "
                       f"({'incremental' if result.incremental else 'full'})")
            log.info("built %s: %s", articles, summary)
            finish(session, rows, DONE, summary)
        return rows
