"""Who is told what: the history a transaction appended, turned into outbox messages by the worker.

The desk calls `defer` just before each commit with the ComplaintEvents the
transaction added (collected by `watch`): it writes one `PendingNotice` row
naming them, and the worker's `plan_pending` turns that row into outbox
messages in a transaction of its own, so notifications follow from the
history, the one record of what happened, whichever front end acted. The
submission itself pays for one small insert, not for looking up recipients
and encrypting their messages (that was a fifth of a submission's CPU).
The receipt carries the tracking code, which nothing else keeps after the
transaction: the row holds it, encrypted, until the worker has planned the
receipt. A row that calls for an urgent or safety notice is marked so: the
worker plans and sends those at once even while the machine is busy
(pace.py). Staff messages carry the number, category, level, due dates and a link, never the
complainant's identity or text; complainants hear only through the address
they gave, in the language they wrote in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import notices
from .i18n import gettext, speaking
from .models import Alert, Complaint, ComplaintEvent, NotificationSwitch, PendingNotice, StaffUser, Task
from .outbox import Planned, put
from .workflow import LABELS, Role

STAFF_KINDS = ("new_complaint", "assigned", "urgent", "emergency_alert", "complainant_replied", "low_rating",
               "due_soon", "overdue", "escalation", "task", "review_needed", "digest")
COMPLAINANT_KINDS = ("receipt", "question", "response", "result", "reopened", "escalated")


# -- Collecting the transaction's history ---------------------------------------------------------------

def watch(session: Session) -> None:
    """Keep the ComplaintEvents each flush writes in session.info, until `plan` takes them."""
    if session.info.get("kb_notify_watch"):
        return
    session.info["kb_notify_watch"] = True

    @sa_event.listens_for(session, "after_flush")
    def _collect(sess, _ctx) -> None:
        sess.info.setdefault("kb_new_events", []).extend(o for o in sess.new if isinstance(o, ComplaintEvent))

    @sa_event.listens_for(session, "after_rollback")
    def _forget(sess) -> None:
        sess.info.pop("kb_new_events", None)

    @sa_event.listens_for(session, "after_commit")
    def _done(sess) -> None:  # committed without `plan` (demo data): those events notify nobody, later either
        sess.info.pop("kb_new_events", None)


def take_events(session: Session) -> list[ComplaintEvent]:
    session.flush()
    return session.info.pop("kb_new_events", [])


# -- Names and dates in the recipient's language ----------------------------------------------------------

class Words:
    """What one message needs in one language: dates in the organisation's zone, names of things."""

    def __init__(self, kb, zone, language: str):
        self.kb, self.zone, self.language = kb, zone, language

    def when(self, moment: dt.datetime | None) -> str:
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M") if moment else "—"

    def named(self, zh: str, en: str) -> str:
        return notices.localize(zh, en, self.language)

    def category(self, cat_id: str) -> str:
        cat = next((c for c in self.kb.categories if c.id == cat_id), None)
        return self.named(cat.zh, cat.en) if cat else cat_id

    def team(self, team_id: str | None) -> str:
        team = self.kb.process.team(team_id) if team_id else None
        return self.named(team.zh, team.en) if team else (team_id or "—")

    def status(self, status: str) -> str:
        if status not in LABELS:
            return status
        with speaking(self.language):
            return gettext(LABELS[status])

    def level(self, level: int) -> str:
        return notices.level_names(self.language)[level]


def staff_link(kb, c: Complaint) -> str:
    return f"{kb.notifications.base_url.rstrip('/')}/staff/complaints/{c.number}"


def status_link(kb) -> str:
    return f"{kb.notifications.base_url.rstrip('/')}{kb.site.base_path.rstrip('/')}/status/"


def staff_context(words: Words, c: Complaint, recipient: str) -> dict[str, Any]:
    """The variables every staff template may use: nothing the complainant wrote or who they are."""
    return {"number": c.number, "category": words.category(c.category), "level": c.level,
            "level_name": words.level(c.level), "team": words.team(c.team), "status": words.status(c.status),
            "link": staff_link(words.kb, c), "recipient": recipient}


# -- Recipients ---------------------------------------------------------------------------------------------

class Recipients:
    """Staff accounts, team mailboxes and robots, each with its switches; looked up once per plan."""

    def __init__(self, session: Session, kb):
        self.session, self.kb = session, kb
        self._users: list[StaffUser] | None = None
        self._off: set[tuple[str, str]] | None = None

    @property
    def users(self) -> list[StaffUser]:
        if self._users is None:
            self._users = list(self.session.scalars(select(StaffUser).where(StaffUser.active.is_(True))))
        return self._users

    def enabled(self, owner: str, kind: str) -> bool:
        if self._off is None:
            self._off = {(s.owner, s.kind) for s in self.session.scalars(
                select(NotificationSwitch).where(NotificationSwitch.enabled.is_(False)))}
        return (owner, kind) not in self._off

    def by_name(self, username: str | None) -> StaffUser | None:
        return next((u for u in self.users if u.username == username), None) if username else None

    def by_id(self, user_id: int | None) -> StaffUser | None:
        return next((u for u in self.users if u.id == user_id), None) if user_id else None

    def members(self, c: Complaint, team: str | None = None) -> list[StaffUser]:
        """Who works the complaint's team (or `team`); employee relations too when it is routed to them."""
        team = team or c.team
        relations = self.kb.process.sensitive.team
        return [u for u in self.users if team in (u.teams or [])
                or (u.role == Role.RELATIONS and team == relations)]

    def reviewers(self, c: Complaint) -> list[StaffUser]:
        """Who decides a supervisor review: the team's lead and supervisors, and admins (desk.may_review)."""
        return [*self.lead(c.team), *(u for u in self.members(c) if u.role == Role.SUPERVISOR), *self.admins()]

    def admins(self) -> list[StaffUser]:
        return [u for u in self.users if u.role == Role.ADMIN]

    def lead(self, team_id: str | None) -> list[StaffUser]:
        team = self.kb.process.team(team_id) if team_id else None
        user = self.by_name(team.lead) if team else None
        return [user] if user else []


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class Plan:
    """The messages one transaction sends; each gets a key that makes planning it twice harmless."""

    def __init__(self, session: Session, kb, zone):
        self.session, self.kb, self.zone = session, kb, zone
        self.people = Recipients(session, kb)
        self.messages: list[Planned] = []

    def words(self, language: str | None) -> Words:
        return Words(self.kb, self.zone, language or self.kb.notifications.staff_language)

    def to_users(self, key: str, kind: str, c: Complaint | None, users: Iterable[StaffUser],
                 extra: dict[str, Any] | None = None) -> None:
        seen: set[int] = set()
        for u in users:
            if u.id in seen or not u.email or not self.people.enabled(f"user:{u.id}", kind):
                continue
            seen.add(u.id)
            words = self.words(u.language)
            context = {**(staff_context(words, c, u.display_name) if c else {"recipient": u.display_name}),
                       **(extra or {})}
            self.messages.append(Planned(f"{key}:{kind}:u{u.id}", kind, "staff", "email", u.email, words.language,
                                         _localise(words, context), c.id if c else None))

    def to_team(self, key: str, kind: str, c: Complaint, extra: dict[str, Any] | None = None,
                team: str | None = None) -> None:
        """The team's members, and its shared mailboxes and robots (per-team switches apply to those).

        `team`: another team than the complaint's (a task handed to it).
        """
        team = team or c.team
        self.to_users(key, kind, c, self.people.members(c, team), extra)
        route = self.kb.notifications.route(team)
        if route is None or not self.people.enabled(f"team:{team}", kind):
            return
        words = self.words(None)
        team_name = words.team(team)
        context = _localise(words, {**staff_context(words, c, team_name), **(extra or {})})
        for address in route.email:
            self.messages.append(Planned(f"{key}:{kind}:m{_hash(address)}", kind, "staff", "email", address,
                                         words.language, context, c.id))
        for hook in route.webhooks:
            self.messages.append(Planned(f"{key}:{kind}:w{hook}", kind, "staff", f"webhook:{hook}", None,
                                         words.language, context, c.id))

    def to_handler_or_team(self, key: str, kind: str, c: Complaint, extra: dict[str, Any] | None = None) -> None:
        handler = self.people.by_id(c.handler_id)
        if handler is not None:
            self.to_users(key, kind, c, [handler], extra)
        else:
            self.to_team(key, kind, c, extra)

    def to_complainant(self, key: str, kind: str, c: Complaint, extra: dict[str, Any] | None = None) -> None:
        """Only where they gave an address (never for an anonymous complaint: it has none)."""
        if not _hears(c):
            return
        words = Words(self.kb, self.zone, c.language or "zh-Hans")
        context = {"number": c.number, "link": status_link(self.kb), **(extra or {})}
        self.messages.append(Planned(f"{key}:{kind}:c", kind, "complainant", "email", c.notify_email,
                                     words.language, _localise(words, context), c.id))

    def commit(self) -> int:
        return put(self.session, self.messages)


def _localise(words: Words, context: dict[str, Any]) -> dict[str, Any]:
    """Dates become strings in the organisation's zone (the context is stored as JSON)."""
    return {k: words.when(v) if isinstance(v, dt.datetime) else v for k, v in context.items()}


# -- What each history entry sends ------------------------------------------------------------------------

def defer(session: Session, kb, zone, events: list[ComplaintEvent], code: str | None = None) -> int:
    """In the caller's transaction: one row for the worker naming these entries; return 1 or 0.

    `code`: the tracking code of a complaint registered in this transaction;
    kept (encrypted) in the row only when a receipt will carry it.
    """
    if not kb.notifications.enabled or not events:
        return 0
    created = next((e for e in events if e.action == "created"), None)
    c = session.get(Complaint, created.complaint_id) if created is not None else None
    keep = code if c is not None and code and _hears(c) else None
    session.add(PendingNotice(kind="events", refs=[e.id for e in events], secret=keep,
                              urgent=any(_is_urgent(session, e) for e in events)))
    return 1


def _hears(c: Complaint) -> bool:
    """Whether the complainant gets messages: only at an address they gave (never an anonymous complaint)."""
    return bool(c.notify_email) and c.disclosure != "anonymous" and c.purged_at is None


def _is_urgent(session: Session, e: ComplaintEvent) -> bool:
    """Whether this entry sends an urgent notice (`plan`: a safety complaint, or the level raised to 1 by staff)."""
    if e.action == "created":
        c = session.get(Complaint, e.complaint_id)  # in the session already: no query
        return bool(c is not None and c.safety_flag)
    return e.action == "level" and e.to_value == "1" and e.from_value is not None and e.actor != "system"


def _receipt(p: Plan, c: Complaint, event_id: int, code: str) -> None:
    p.to_complainant(f"ev{event_id}", "receipt", c, {
        "code": code, "level_name": Words(p.kb, p.zone, c.language or "zh-Hans").level(c.level),
        "assessment_due": c.assessment_due_at, "first_response_due": c.first_response_due_at,
        "result_days": p.kb.process.sla.result_working_days, "emergency_contact": _emergency_contact(p.kb, c) or ""})


def defer_alert(session: Session, kb, alert: Alert) -> None:
    """An emergency alert raised in the caller's transaction: the worker tells who must know (`plan_alert`)."""
    if kb.notifications.enabled and alert.kind == "emergency":
        session.add(PendingNotice(kind="alert", refs=[alert.id], urgent=True))


def plan_pending(session: Session, kb, zone, limit: int = 100, urgent_only: bool = False) -> int:
    """The worker's step: turn up to `limit` waiting rows into outbox messages, delete them, commit.

    One transaction, so a crash plans nothing twice and loses nothing; on
    PostgreSQL the rows are taken FOR UPDATE SKIP LOCKED, so two workers
    plan different rows (and the outbox's unique keys would catch a repeat
    anyway). `urgent_only`: only rows marked urgent (what a busy machine
    still plans at once). Returns how many rows were taken.
    """
    query = select(PendingNotice).order_by(PendingNotice.id).limit(limit)
    if urgent_only:
        query = query.where(PendingNotice.urgent.is_(True))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    if not rows:
        session.rollback()
        return 0
    ids = [i for r in rows if r.kind == "events" for i in r.refs]
    events = list(session.scalars(select(ComplaintEvent).where(ComplaintEvent.id.in_(ids))
                                  .order_by(ComplaintEvent.id))) if ids else []
    codes = {i: r.secret for r in rows if r.kind == "events" and r.secret for i in r.refs}
    plan(session, kb, zone, events, codes)
    for r in rows:
        alert = session.get(Alert, r.refs[0]) if r.kind == "alert" and r.refs else None
        if alert is not None:
            plan_alert(session, kb, zone, alert)
        session.delete(r)
    session.commit()
    return len(rows)


def plan(session: Session, kb, zone, events: list[ComplaintEvent], codes: dict[int, str] | None = None) -> int:
    """Put the notifications these history entries call for into the transaction; return how many.

    The state of each complaint is read now (the worker plans a moment after
    the change): a complaint purged meanwhile tells its complainant nothing.
    `codes`: tracking codes by the id of the entry that registered their
    complaint, for its receipt.
    """
    if not kb.notifications.enabled or not events:
        return 0
    p = Plan(session, kb, zone)
    complaints = {c.id: c for c in session.scalars(select(Complaint).where(
        Complaint.id.in_({e.complaint_id for e in events})))}
    replied: set[int] = set()  # a reply with three photos tells the handler once
    for e in events:
        c = complaints.get(e.complaint_id)
        if c is None:
            continue
        key = f"ev{e.id}"
        if e.action == "created":
            if codes and e.id in codes:
                _receipt(p, c, e.id, codes[e.id])
            p.to_team(key, "new_complaint", c, {"received_at": c.received_at, "assessment_due": c.assessment_due_at,
                                                "first_response_due": c.first_response_due_at})
            if c.safety_flag:
                _urgent(p, key, c)
        elif e.action == "team" and e.from_value is not None:
            p.to_team(key, "new_complaint", c, {"received_at": c.received_at, "assessment_due": c.assessment_due_at,
                                                "first_response_due": c.first_response_due_at})
        elif e.action == "handler":
            p.to_users(key, "assigned", c, [u for u in [p.people.by_name(e.to_value)] if u],
                       {"assigned_by": e.actor.split(":", 1)[-1], "first_response_due": c.first_response_due_at})
        elif e.action == "level" and e.to_value == "1" and e.from_value is not None and e.actor != "system":
            _urgent(p, key, c)
        elif e.action == "answer" or (e.action == "attachment" and e.actor == "complainant"
                                       and c.status != "received"):
            # Files sent with the complaint itself (the form uploads right after it) are no reply.
            if c.id not in replied:
                replied.add(c.id)
                p.to_handler_or_team(key, "complainant_replied", c)
        elif e.action == "question":
            p.to_complainant(key, "question", c, {"question": e.to_value or ""})
        elif e.action == "response":
            p.to_complainant(key, "response", c, {"response": e.to_value or ""})
        elif e.action == "status":
            _status(p, key, c, e)
        elif e.action == "task" and e.to_value:
            tasks_link = f"{kb.notifications.base_url.rstrip('/')}/staff/tasks"
            task = session.scalar(select(Task).where(Task.complaint_id == c.id, Task.team == e.to_value)
                                  .order_by(Task.id.desc()).limit(1))  # the one this entry records
            p.to_team(key, "task", c, {"due_at": task.due_at if task else "—", "link": tasks_link}, team=e.to_value)
    return p.commit()


def _status(p: Plan, key: str, c: Complaint, e: ComplaintEvent) -> None:
    if e.to_value == "resolved":
        p.to_complainant(key, "result", c, {"response": c.response or "", "rating_link": status_link(p.kb)})
    if e.to_value == "escalated" and c.review_due_at is not None:
        p.to_users(key, "review_needed", c, p.people.reviewers(c), {"due_at": c.review_due_at})
    if e.to_value in ("reopened", "escalated"):
        p.to_complainant(key, e.to_value, c, {"note": "" if e.actor.startswith("staff:") else (e.note or "")})
        if e.note and e.note.startswith("low satisfaction rating"):
            p.to_handler_or_team(key, "low_rating", c, {"rating": c.rating, "new_status": e.to_value})


def _urgent(p: Plan, key: str, c: Complaint) -> None:
    extra = {"kind_name": c.recognised_kind or p.words(None).category(c.category),
             "first_response_due": c.first_response_due_at, "emergency_contact": _emergency_contact(p.kb, c) or ""}
    p.to_team(key, "urgent", c, extra)
    p.to_users(key, "urgent", c, p.people.admins(), extra)


def _emergency_contact(kb, c: Complaint) -> str | None:
    from .sensitive import emergency_contact
    return emergency_contact(kb, c.recognised_kind, c.category)


def plan_alert(session: Session, kb, zone, alert: Alert) -> int:
    """An emergency alert (a wave of similar complaints): every team concerned, and the admins."""
    if not kb.notifications.enabled or alert.kind != "emergency":
        return 0
    complaints = list(session.scalars(select(Complaint).where(Complaint.id.in_(alert.complaint_ids))
                                      .order_by(Complaint.id)))
    if not complaints:
        return 0
    p = Plan(session, kb, zone)
    numbers = ", ".join(c.number for c in complaints)
    extra = {"alert_message": alert.message, "count": len(complaints), "numbers": numbers}
    key = f"alert{alert.id}"
    newest = complaints[-1]
    for team in sorted({c.team for c in complaints if c.team}):
        p.to_team(key, "emergency_alert", next(c for c in complaints if c.team == team), extra)
    p.to_users(key, "emergency_alert", newest, p.people.admins(), extra)
    url = kb.process.emergency.webhook_url
    if url:  # the older single webhook of process.emergency: our JSON payload, unsigned
        words = p.words(None)
        p.messages.append(Planned(f"{key}:emergency_alert:url", "emergency_alert", "staff", "url", url,
                                  words.language, _localise(words, {**staff_context(words, newest, ""), **extra}),
                                  newest.id))
    return p.commit()
