"""Notifications that come from the clock, not from an action: SLA reminders, daily digests, the quarterly review.

The worker (worker.py) calls `plan_due` every minute or so. Each message's
outbox key names the complaint, the limit, its due time and the step (or the
person and the day, or the quarter), so every worker may scan at once and a
restart may scan again: the outbox keeps one of each (outbox.put).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, load_only

from . import notices
from .models import Complaint, OutboxMessage, utcnow
from .notify import Plan, Words
from .outbox import Planned, put
from .queue import LIMITS, is_overdue, limit_open, next_deadline
from .sla import Clock

DONE = ("resolved", "closed")
# What reminders and digests read of a complaint: never the identity columns, which would be decrypted
# for every open complaint every minute.
COLUMNS = (Complaint.id, Complaint.number, Complaint.category, Complaint.level, Complaint.team, Complaint.status,
           Complaint.handler_id, Complaint.disclosure, Complaint.purged_at, Complaint.received_at,
           *(getattr(Complaint, col) for _, due, done in LIMITS for col in (due, done)))


def reminder_kind(hours: float, to: list[str]) -> str:
    """Before the limit: due soon; after it, to the lead or admins: escalation; otherwise overdue."""
    if hours < 0:
        return "due_soon"
    return "escalation" if hours > 0 and any(t in ("lead", "admins") for t in to) else "overdue"


def plan_sla(session: Session, kb, clock: Clock, now: dt.datetime) -> int:
    """Due-soon, overdue and escalation notices for every open complaint, each step once per limit."""
    steps = kb.process.sla.reminders
    if not steps or not kb.notifications.enabled:
        return 0
    earliest = min(s.hours for s in steps)  # the first step fires this long after a limit (negative: before)
    horizon = now - dt.timedelta(hours=earliest)
    dues = [getattr(Complaint, col) for _, col, _ in LIMITS]
    open_work = session.scalars(select(Complaint).options(load_only(*COLUMNS)).where(
        Complaint.status != "closed", Complaint.purged_at.is_(None), or_(*(d <= horizon for d in dues))))
    p = Plan(session, kb, clock.zone)
    names = {lang: notices.limit_names(lang) for lang in ("zh-Hans", "zh-Hant", "en")}
    for c in open_work:
        for limit, due_col, done_col in LIMITS:
            due, done = getattr(c, due_col), getattr(c, done_col)
            if due is None or done is not None or not limit_open(limit, c.status):
                continue
            for step in steps:
                at = due + dt.timedelta(hours=step.hours)
                if now < at or (step.hours < 0 and now >= due):  # not yet; or a due-soon notice come too late
                    continue
                kind = reminder_kind(step.hours, step.to)
                key = f"sla:{c.id}:{limit}:{due.isoformat()}:{step.hours:g}"
                extra: dict[str, Any] = {"limit": limit, "due_at": due,
                                         "hours_overdue": max(0, round((now - due).total_seconds() / 3600))}
                _send_step(p, key, kind, c, step.to, extra, names)
    return p.commit()


def _send_step(p: Plan, key: str, kind: str, c: Complaint, to: list[str], extra: dict[str, Any],
               names: dict[str, dict[str, str]]) -> None:
    handler = p.people.by_id(c.handler_id)
    extra = {**extra, "handler": handler.display_name if handler else "—"}
    before = len(p.messages)
    for who in to:
        if who == "handler":
            p.to_handler_or_team(key, kind, c, extra)
        elif who == "team":
            p.to_team(key, kind, c, extra)
        elif who == "lead":
            p.to_users(key, kind, c, p.people.lead(c.team), extra)
        elif who == "admins":
            p.to_users(key, kind, c, p.people.admins(), extra)
    for i in range(before, len(p.messages)):  # the limit's name in each message's own language
        m = p.messages[i]
        context = dict(m.context)
        context["limit_name"] = names.get(m.language, names["zh-Hans"])[context.pop("limit")]
        p.messages[i] = m.__class__(**{**m.__dict__, "context": context})


def plan_digests(session: Session, kb, clock: Clock, now: dt.datetime) -> int:
    """Each morning (notifications.digest_hour), every person with open work gets the list of it, once a day."""
    local = now.astimezone(clock.zone)
    if not kb.notifications.enabled or local.hour < kb.notifications.digest_hour:
        return 0
    p = Plan(session, kb, clock.zone)
    open_work = list(session.scalars(select(Complaint).options(load_only(*COLUMNS)).where(
        Complaint.status.notin_(DONE), Complaint.purged_at.is_(None)).order_by(Complaint.level, Complaint.received_at)))
    for user in p.people.users:
        mine = [c for c in open_work if c.handler_id == user.id
                or (c.handler_id is None and c.team in (user.teams or []))]
        if not mine or not user.email:
            continue
        words = Words(kb, clock.zone, user.language or kb.notifications.staff_language)
        items = []
        for c in mine[:50]:
            nd = next_deadline(c)
            items.append({"number": c.number, "category": words.category(c.category), "level": c.level,
                          "next_due": words.when(nd.due_at) if nd else "—", "overdue": is_overdue(c, now)})
        p.to_users(f"digest:{local.date().isoformat()}", "digest", None, [user],
                   {"count": len(mine), "items": items,
                    "link": f"{kb.notifications.base_url.rstrip('/')}/staff/"})
    return p.commit()


def previous_quarter(local: dt.datetime) -> str:
    q = (local.month - 1) // 3  # the quarter that ended before this one began (0: last year's Q4)
    return f"{local.year}Q{q}" if q else f"{local.year - 1}Q4"


def plan_review(session: Session, kb, clock: Clock, now: dt.datetime, term_weights: Any = None) -> int:
    """After each quarter, on notifications.review.day of its next month, the review goes to management once."""
    schedule = kb.notifications.review
    local = now.astimezone(clock.zone)
    first_month = local.month in (1, 4, 7, 10)
    if (not kb.notifications.enabled or not schedule.to or not first_month or local.day < schedule.day
            or local.hour < kb.notifications.digest_hour):
        return 0
    quarter = previous_quarter(local)
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key.like(f"review:{quarter}:%"))):
        return 0  # already planned: the report is not computed again every minute
    from . import metrics, report  # matplotlib and the review's queries: only once a quarter
    # The first 50 breaches: the text says how many there are in all and that the export has every one.
    data = report.collect(session, kb, metrics.Period.quarter(quarter, clock.zone), term_weights,
                          breach_limit=report.BREACHES_PER_PAGE)
    text = report.markdown(data, None)
    link = f"{kb.notifications.base_url.rstrip('/')}/staff/report?quarter={quarter}"
    language = kb.notifications.staff_language
    return put(session, [Planned(f"review:{quarter}:{address}", "review", "management", "email", address, language,
                                 {"period": quarter, "report": text, "link": link})
                         for address in schedule.to])


def plan_due(session: Session, kb, clock: Clock, now: dt.datetime | None = None, term_weights: Any = None) -> int:
    """Everything the clock calls for now, in one transaction; commits."""
    now = now or utcnow()
    n = plan_sla(session, kb, clock, now) + plan_digests(session, kb, clock, now)
    n += plan_review(session, kb, clock, now, term_weights)
    session.commit()
    return n
