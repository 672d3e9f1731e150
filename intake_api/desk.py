"""The complaint desk: the process of PROCESS.md as one service that every front end calls.

The public API, the staff API, the workspace and the `kb` commands only parse
their input, call a Desk method and render what it returns. The desk decides
who may see and do what, applies the rule (process.py), appends the history
and commits: one transaction per call. No Flask here, so the four front ends
cannot drift apart again (the workspace once said "Saved" for an assignment to
an account that did not exist, while the staff API answered 409).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb_builder.config import KbConfig
from kb_builder.errors import ContentError

from . import (
    alerts,
    attachments,
    build_queue,
    finding,
    holidays,
    i18n,
    learning,
    notify,
    phrasings,
    privacy,
    process,
    publish,
    tracking,
)
from . import capa as capa_module
from .attachments import Refused, Upload
from .i18n import gettext, pick
from .models import (
    Alert,
    AlertComplaint,
    AnalyticsEvent,
    Attachment,
    CalendarDay,
    CapaAction,
    Complaint,
    ComplaintEvent,
    Deflection,
    IdempotencyKey,
    Message,
    NotificationSwitch,
    Phrasing,
    Publication,
    StaffAudit,
    StaffSession,
    StaffUser,
    Task,
    utcnow,
)
from .queue import (
    LIMITS,
    LIST_PAGE_SIZE,
    PAGE_SIZE,
    Deadline,
    QueuePage,
    RowsPage,
    is_overdue,
    next_deadline,
    page_of,
    queue,
)
from .sla import Clock
from .workflow import LEVEL_NAMES, STATUSES, TRANSITIONS, Role, Status, label

log = logging.getLogger("kb.desk")


# -- Domain errors: each front end maps them once (errors.py for HTTP, click for the CLI) --------------

class DeskError(Exception):
    """A request the desk refuses; `status` is what HTTP front ends answer with."""

    status = 400

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors


class NoIndex(DeskError):
    """The search index is not built yet: what needs it waits for `kb build`."""

    status = 503


class Invalid(DeskError):
    """Bad input: names the field and what to give instead."""

    status = 400


class NotFound(DeskError):
    """Nothing by that number that this person may see (never says whether it exists)."""

    status = 404


class Forbidden(DeskError):
    status = 403


class Conflict(DeskError):
    """The process does not allow this now (a status change out of order, a rating twice...)."""

    status = 409


def invalid(problems: list[tuple[str, str]]) -> Invalid:
    """One Invalid for several bad fields, each given as (field, message in the request's language)."""
    return Invalid(gettext("; ").join(message for _, message in problems),
                   [{"field": name, "message": message} for name, message in problems])


# -- Who is acting --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Actor:
    """Who acts: a staff account, an operator at the `kb` command, the complainant or the system.

    `label` is what the history records (staff:alice, admin:cli, complainant, system).
    """

    label: str
    user: StaffUser | None = None
    role: Role | None = None

    @classmethod
    def staff(cls, user: StaffUser) -> Actor:
        return cls(f"staff:{user.username}", user, Role(user.role))

    @classmethod
    def operator(cls) -> Actor:
        """Whoever runs `kb` on the server: they hold the database and the keys, so they see everything."""
        return cls("admin:cli", None, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def username(self) -> str:
        return self.user.username if self.user is not None else self.label


COMPLAINANT = Actor(process.COMPLAINANT)


# -- What front ends render: the same objects for JSON and HTML ----------------------------------------

@dataclass(frozen=True)
class MessageView:
    author: str  # staff or complainant; the complainant never sees staff names
    body: str
    at: dt.datetime


@dataclass(frozen=True)
class EventView:
    at: dt.datetime
    actor: str
    action: str
    from_value: str | None
    to_value: str | None
    note: str | None


@dataclass(frozen=True)
class AuditView:
    """One change to a staff account (`staff_audit`), its time in the configured zone."""

    at: dt.datetime
    actor: str
    username: str
    action: str
    from_value: str | None
    to_value: str | None


@dataclass(frozen=True)
class AlertView:
    alert: Alert
    complaints: list[Complaint]


DATE_FIELDS = ("assessment_due_at", "first_response_due_at", "resolution_due_at", "result_due_at", "assessed_at",
               "first_responded_at", "investigation_started_at", "investigation_ended_at", "resolved_at",
               "promise_due_at", "promise_kept_at", "review_due_at", "reviewed_at", "closed_at")


@dataclass(frozen=True)
class ComplaintView:
    """A complaint as one staff member may see it, with every time in the configured zone."""

    complaint: Complaint
    identity: dict | None
    handler: str | None
    next_deadline: Deadline | None
    overdue: bool
    dates: dict[str, dt.datetime | None]
    messages: list[MessageView] = field(default_factory=list)
    history: list[EventView] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    next_statuses: tuple[str, ...] = ()

    @property
    def c(self) -> Complaint:
        return self.complaint


@dataclass(frozen=True)
class AttachmentView:
    """One attached file as a list shows it (the bytes come from Desk.attachment_file)."""

    id: int
    name: str
    content_type: str
    size: int
    uploaded_by: str  # complainant, or staff:<username> (staff names are never shown to the complainant)
    at: dt.datetime

    @property
    def is_image(self) -> bool:
        return self.content_type in attachments.IMAGES


@dataclass(frozen=True)
class Receipt:
    complaint: Complaint
    code: str
    replayed: bool = False


# -- One table of staff actions --------------------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    """A staff action: its name (the URL segment in both front ends), the fields it reads, and the rule."""

    name: str
    fields: tuple[str, ...]
    run: Callable[[Desk, Complaint, Mapping[str, Any], Actor], None]
    help: str


def _status(desk: Desk, c: Complaint, f: Mapping[str, Any], who: Actor) -> None:
    process.change_status(desk.session, desk.clock, c, str(f.get("status") or ""), who.label,
                          note=f.get("note") or None)


def _assign(desk: Desk, c: Complaint, f: Mapping[str, Any], who: Actor) -> None:
    handler = None
    name = f.get("handler") or None
    if name:
        handler = desk.session.scalar(select(StaffUser).where(StaffUser.username == name))
        if handler is None:
            raise Conflict(gettext("No staff account '%(name)s'", name=name),
                           [{"field": "handler", "message": "choose an existing staff account"}])
    process.assign(desk.session, desk.kb, c, who.label, team=f.get("team") or None, handler=handler,
                   override=f.get("override_reason") or None, admin=who.is_admin)


def _about(desk: Desk, c: Complaint, f: Mapping[str, Any], who: Actor) -> None:
    process.set_about(desk.session, desk.kb, c, f.get("department") or None, f.get("role") or None, who.label)


def _level(desk: Desk, c: Complaint, f: Mapping[str, Any], who: Actor) -> None:
    level = f.get("level")
    try:
        level = int(level) if level not in (None, "") else 0
    except (TypeError, ValueError):
        level = 0
    process.set_level(desk.session, desk.clock, c, level, who.label, note=f.get("note") or None)


def _responsibility(desk: Desk, c: Complaint, f: Mapping[str, Any], who: Actor) -> None:
    process.set_responsibility(desk.session, c, str(f.get("responsibility") or ""), who.label)


def _response(desk: Desk, c: Complaint, f: Mapping[str, Any], who: Actor) -> None:
    parts = {f"response_{k}": str(f.get(k) or "") for k in ("basis", "result", "followup") if f.get(k)}
    process.respond(desk.session, c, str(f.get("text") or ""), who.label, parts=parts)


def _listed(value: Any) -> list[str]:
    """A list field as the API sends it (a list) or a form does (comma-separated, or repeated)."""
    items = value if isinstance(value, list | tuple) else str(value or "").split(",")
    return [str(v).strip() for v in items if str(v).strip()]


def _outcome(desk: Desk, c: Complaint, f: Mapping[str, Any], who: Actor) -> None:
    raw = str(f.get("promise_date") or "").strip()
    try:
        promised = dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        raise Invalid(gettext("Use a date such as 2026-12-20"),
                      [{"field": "promise_date", "message": "YYYY-MM-DD"}]) from None
    process.set_outcome(desk.session, desk.clock, c, _listed(f.get("solutions")), promised,
                        f.get("promise_text") or None, who.label)


def _promise_kept(desk: Desk, c: Complaint, f: Mapping[str, Any], who: Actor) -> None:
    process.keep_promise(desk.session, c, who.label, f.get("note") or None)


def _follow_up(desk: Desk, c: Complaint, f: Mapping[str, Any], who: Actor) -> None:
    raw = f.get("score")
    try:
        score = int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        raise Invalid(gettext("Satisfaction must be 1 to 5"),
                      [{"field": "score", "message": "1-5"}]) from None
    process.record_follow_up(desk.session, c, str(f.get("method") or ""), score, f.get("note") or None, who.user,
                             who.label)


def _step(desk: Desk, c: Complaint, f: Mapping[str, Any], who: Actor) -> None:
    process.set_step(desk.session, desk.kb, c, str(f.get("step") or ""), who.label)


def _task(desk: Desk, c: Complaint, f: Mapping[str, Any], who: Actor) -> None:
    raw = str(f.get("due_date") or "").strip()
    try:
        due = dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        raise Invalid(gettext("Use a date such as 2026-12-20"),
                      [{"field": "due_date", "message": "YYYY-MM-DD"}]) from None
    process.add_task(desk.session, desk.kb, desk.clock, c, str(f.get("team") or ""), str(f.get("text") or ""), due,
                     who.label)


def _review(desk: Desk, c: Complaint, f: Mapping[str, Any], who: Actor) -> None:
    if not desk.may_review(who, c):
        raise Forbidden(gettext("A supervisor, the team lead or an admin reviews"))
    process.review(desk.session, desk.clock, c, str(f.get("outcome") or ""), who.label, f.get("note") or None,
                   f.get("arbitrator") or None, f.get("arbitration_result") or None)


def _end_investigation(desk: Desk, c: Complaint, f: Mapping[str, Any], who: Actor) -> None:
    process.end_investigation(desk.session, desk.clock, c, who.label)


def _temporary_measures(desk: Desk, c: Complaint, f: Mapping[str, Any], who: Actor) -> None:
    process.set_temporary_measures(desk.session, c, str(f.get("text") or ""), who.label)


def _message(desk: Desk, c: Complaint, f: Mapping[str, Any], who: Actor) -> None:
    process.post_message(desk.session, c, str(f.get("text") or ""), staff=who.user, actor=who.label)


ACTIONS: dict[str, Action] = {a.name: a for a in (
    Action("status", ("status", "note"), _status, "Move the complaint to the next status."),
    Action("assign", ("team", "handler", "override_reason"), _assign,
           "Route to a team and/or a handler of that team (an admin may override a conflict of interest with a "
           "reason)."),
    Action("about", ("department", "role"), _about, "Who the complaint is about: a department and, optionally, a role."),
    Action("level", ("level", "note"), _level, "Set the level (1 urgent, 2 important, 3 general)."),
    Action("responsibility", ("responsibility",), _responsibility, "Whose fault: own, third_party, outside."),
    Action("response", ("text", "basis", "result", "followup"), _response,
           "Write the response the complainant sees: one text, or basis, result and follow-up measures."),
    Action("outcome", ("solutions", "promise_date", "promise_text"), _outcome,
           "The solution by type (repair, delivery... ); a repair or delivery promises a date (its own clock)."),
    Action("promise-kept", ("note",), _promise_kept, "The promised repair or delivery is done."),
    Action("follow-up", ("method", "score", "note"), _follow_up,
           "Record a 回访 (phone, in person, e-mail) and the satisfaction the complainant gave."),
    Action("step", ("step",), _step, "Which step of the investigation it is at (process.investigation_steps)."),
    Action("task", ("team", "text", "due_date"), _task, "Hand part of the investigation to another team, with a "
           "due date (it appears in that team's task list)."),
    Action("review", ("outcome", "note", "arbitrator", "arbitration_result"), _review,
           "Supervisor review of an escalated complaint: upheld, reinvestigate or arbitration."),
    Action("investigation-ended", (), _end_investigation, "End the investigation: the result clock starts."),
    Action("temporary-measures", ("text",), _temporary_measures, "What was done at once (urgent complaints)."),
    Action("messages", ("text",), _message, "Ask the complainant a question (they answer by tracking code)."),
)}


@dataclass(frozen=True)
class NotificationChoices:
    """What one person is told, and (for admins) what each team's mailboxes and robots are told."""

    email: str | None
    language: str
    mine: dict[str, bool]
    teams: dict[str, dict[str, bool]]


# -- The desk -----------------------------------------------------------------------------------------------

class Desk:
    """The complaint process over one database session; each public method is one transaction."""

    def __init__(self, session: Session, kb: KbConfig, clock: Clock, term_weights: Any = None):
        self.session = session
        self.kb = kb
        self.clock = clock
        self.term_weights = term_weights
        notify.watch(session)

    # Visibility and permission ------------------------------------------------------------------------

    @property
    def relations_team(self) -> str:
        """The team the recogniser routes harassment and the like to (process.sensitive.team)."""
        return self.kb.process.sensitive.team

    def can_see(self, who: Actor, c: Complaint) -> bool:
        if who.is_admin:
            return True
        teams = (who.user.teams if who.user is not None else None) or []
        if c.team in teams:
            return True
        # Employee relations: every complaint routed to its team, whatever teams the account lists,
        # and every confidential one.
        return who.role == Role.RELATIONS and (c.disclosure == "confidential" or c.team == self.relations_team)

    def visible(self, query, who: Actor):
        """Restrict a complaints query to what this person may see."""
        if who.is_admin:
            return query
        mine = Complaint.team.in_((who.user.teams if who.user is not None else None) or [])
        if who.role == Role.RELATIONS:
            return query.where(mine | (Complaint.disclosure == "confidential") | (Complaint.team == self.relations_team))
        return query.where(mine)

    @staticmethod
    def identity_for(who: Actor, c: Complaint) -> dict | None:
        """The complainant's identity as this person may see it.

        Anonymous: nothing exists. Confidential: only employee relations see it,
        never the handlers (or admins) of the team complained about. Named:
        whoever may see the complaint.
        """
        if c.disclosure == "anonymous" or c.purged_at is not None:
            return None
        if c.disclosure == "confidential" and who.role != Role.RELATIONS:
            return {"hidden": True}
        return {"name": c.name, "department": c.department, "position": c.position, "contact": c.contact}

    # Finding ------------------------------------------------------------------------------------------

    def find(self, who: Actor, number: str) -> Complaint:
        """The complaint with this number if `who` may see it; NotFound either way otherwise."""
        c = self.session.scalar(select(Complaint).where(Complaint.number == number.strip().upper()))
        if c is None or not self.can_see(who, c):
            raise NotFound(gettext("No complaint %(number)s (numbers look like TS-2026-000123)", number=number))
        return c

    def by_code(self, code: str) -> Complaint:
        """The complaint a tracking code belongs to: the complainant's only key."""
        c = None
        if tracking.canonical(code) is not None:
            c = self.session.scalar(select(Complaint).where(Complaint.tracking_hash == tracking.code_hash(code)))
        if c is None:
            raise NotFound(gettext("No complaint with this tracking code"))
        return c

    def queue(self, who: Actor, *, status: str | None = None, level: int | None = None, team: str | None = None,
              due: str | None = None, page: int = 1, per_page: int | None = None, mine: bool = False) -> QueuePage:
        """The open work this person may see, most urgent first, paged in the database (mine: assigned to them)."""
        def scope(q):
            q = self.visible(q, who)
            return q.where(Complaint.handler_id == (who.user.id if who.user else -1)) if mine else q

        return queue(self.session, scope, status=status, level=level, team=team, due=due,
                     due_soon_hours=self.kb.process.sla.due_soon_hours, page=page,
                     per_page=per_page or PAGE_SIZE)

    def search(self, who: Actor, q: str | None = None, *, category: str | None = None, about: str | None = None,
               status: str | None = None, since: str | dt.date | None = None, until: str | dt.date | None = None,
               page: int = 1, per_page: int | None = None) -> QueuePage:
        """Every complaint this person may see, closed ones included, that matches, newest first, by pages.

        `q` is a number (TS-2026-000123: that complaint; part of one is
        looked for in the text) or words, Traditional or Simplified, all of
        which must occur in the description, request or location
        (finding.py); `about` is the department complained about;
        `since` and `until` are days (YYYY-MM-DD, both included) in the
        configured zone on which complaints were received.
        """
        q = (q or "").strip()
        problems: list[tuple[str, str]] = []
        if len(q) > finding.MAX_QUERY:
            problems.append(("q", gettext("The search text is too long: at most %(max_query)s characters", max_query=finding.MAX_QUERY)))
        if category and category not in self.kb.category_ids:
            problems.append(("category", gettext("Unknown category '%(category)s': use one of %(known)s", category=category, known=', '.join(self.kb.category_ids))))
        departments = self.kb.process.department_ids
        if about and about not in departments:
            problems.append(("about", gettext("Unknown department '%(about)s': use one of %(known)s", about=about, known=', '.join(departments))))
        if status and status not in (*STATUSES, "open"):
            problems.append(("status", gettext("Unknown status '%(status)s': use one of %(known)s, open", status=status, known=', '.join(STATUSES))))
        first, last = _day("since", since, problems), _day("until", until, problems)
        if first and last and first > last:
            problems.append(("until", gettext("Until is before since")))
        if problems:
            raise invalid(problems)
        zone = self.clock.zone
        number = finding.as_number(q)
        return finding.search(
            self.session, lambda query: self.visible(query, who),
            finding.query_terms(q) if q and number is None else [], number=number,
            category=category or None, about=about or None, status=status or None,
            since=dt.datetime.combine(first, dt.time(), zone) if first else None,
            before=dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone) if last else None,
            page=max(1, page), per_page=per_page or finding.SEARCH_PAGE_SIZE)

    # Reads --------------------------------------------------------------------------------------------

    def local(self, moment: dt.datetime | None) -> dt.datetime | None:
        """A stored UTC moment in the configured time zone (kb.yml `timezone`)."""
        return moment.astimezone(self.clock.zone) if moment is not None else None

    def complaint_rules(self) -> dict[str, Any]:
        """What a new complaint is checked against (schemas.ComplaintIn's context), the same for every front end:
        the categories, the departments, the fields each category leaves optional, the time zone."""
        return {"categories": self.kb.category_ids, "departments": self.kb.process.department_ids,
                "optional": self.kb.optional_fields, "zone": self.clock.zone}

    def occurred(self, c: Complaint) -> str:
        """When it happened as people read it: the date alone when only a date was given, else the minute."""
        if c.occurred_at is None:
            return c.occurred_on.isoformat() if c.occurred_on is not None else "—"
        return c.occurred_at.astimezone(self.clock.zone).strftime("%Y-%m-%d %H:%M")

    def username(self, user_id: int | None) -> str | None:
        user = self.session.get(StaffUser, user_id) if user_id is not None else None
        return user.username if user else None

    def thread(self, c: Complaint) -> list[MessageView]:
        """The follow-up thread; a MessageView names no staff member, so the complainant may see it too."""
        msgs = self.session.scalars(select(Message).where(Message.complaint_id == c.id).order_by(Message.id))
        return [MessageView(m.author, m.body, self.local(m.at)) for m in msgs]  # type: ignore[arg-type]

    def history(self, c: Complaint) -> list[EventView]:
        events = self.session.scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id == c.id)
                                      .order_by(ComplaintEvent.id))
        return [EventView(self.local(e.at), e.actor, e.action, e.from_value, e.to_value, e.note)  # type: ignore[arg-type]
                for e in events]

    def summary(self, who: Actor, c: Complaint, now: dt.datetime | None = None) -> ComplaintView:
        """What a queue row shows: no thread and no history (the handler's name is looked up per distinct id)."""
        nd = next_deadline(c)
        return ComplaintView(
            complaint=c, identity=None, handler=self.username(c.handler_id),
            next_deadline=Deadline(nd.kind, self.local(nd.due_at)) if nd else None,  # type: ignore[arg-type]
            overdue=is_overdue(c, now or utcnow()), dates={})

    def view(self, who: Actor, c: Complaint) -> ComplaintView:
        """Everything a staff member may see of one complaint."""
        base = self.summary(who, c)
        return ComplaintView(
            complaint=c, identity=self.identity_for(who, c), handler=base.handler,
            next_deadline=base.next_deadline, overdue=base.overdue,
            dates={k: self.local(getattr(c, k)) for k in DATE_FIELDS},
            messages=self.thread(c), history=self.history(c), next_statuses=TRANSITIONS[c.status],
            tasks=list(self.session.scalars(select(Task).where(Task.complaint_id == c.id).order_by(Task.id))))

    def handlers_for(self, c: Complaint) -> list[StaffUser]:
        """Who may be assigned: active accounts of the complaint's team, and admins."""
        staff = self.session.scalars(select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.username))
        return [u for u in staff if u.is_admin or c.team in (u.teams or [])]

    def tasks(self, who: Actor, include_done: bool = False, page: int = 1, per_page: int = 100):
        """Tasks for this person's teams (admins: all), soonest due first, with their complaint, by pages.

        A team sees its tasks, not the complaint behind them, unless it may see the complaint anyway.
        Every task is on some page, with the total (there used to be a silent cut at 500).
        """
        query = select(Task, Complaint).join(Complaint, Complaint.id == Task.complaint_id)
        if not who.is_admin:
            query = query.where(Task.team.in_((who.user.teams if who.user is not None else None) or []))
        if not include_done:
            query = query.where(Task.done_at.is_(None))
        return page_of(self.session, query, (Task.due_at, Task.id), page, per_page)

    def finish_task(self, who: Actor, task_id: int, note: str | None) -> Task:
        task = self.session.get(Task, task_id)
        c = self.session.get(Complaint, task.complaint_id) if task is not None else None
        mine = task is not None and (who.is_admin or task.team in ((who.user.teams if who.user else None) or []))
        if task is None or c is None or not (mine or self.can_see(who, c)):
            raise NotFound(gettext("No task %(task_id)s for your teams", task_id=task_id))
        with self._transaction():
            try:
                process.finish_task(self.session, c, task, who.label, note)
            except process.TransitionError as exc:
                raise Conflict(str(exc)) from None
        return task

    def may_review(self, who: Actor, c: Complaint) -> bool:
        """Supervisor reviews: admins, supervisors of the complaint's team, and its team lead."""
        if who.is_admin:
            return True
        team = self.kb.process.team(c.team) if c.team else None
        lead = team is not None and who.user is not None and team.lead == who.user.username
        return lead or (who.role == Role.SUPERVISOR and self.can_see(who, c))

    def conflicts(self, c: Complaint, users: list[StaffUser]) -> dict[str, str]:
        """Why each of these people may not handle the complaint (conflict of interest), by username."""
        from .conflicts import handler_conflict
        return {u.username: why for u in users if (why := handler_conflict(self.kb, c, u))}

    def alerts(self, who: Actor, page: int = 1, per_page: int = LIST_PAGE_SIZE) -> RowsPage:
        """Alerts newest first, by pages, each with the complaints of it this person may see.

        An alert none of whose complaints this person may see is not theirs: it is left out in SQL (through
        alert_complaints), so every page is full and the total counts only theirs (it used to be the newest
        200, filtered afterwards).
        """
        query = select(Alert)
        if not who.is_admin:
            theirs = self.visible(select(AlertComplaint.alert_id).join(Complaint, Complaint.id == AlertComplaint.complaint_id),
                                  who).where(AlertComplaint.alert_id == Alert.id)
            query = query.where(theirs.exists())
        result = page_of(self.session, query, (Alert.id.desc(),), page, per_page)
        ids = {i for a in result.items for i in a.complaint_ids or []}
        seen = {c.id: c for c in self.session.scalars(self.visible(select(Complaint).where(Complaint.id.in_(ids)), who))}
        return replace(result, items=[AlertView(a, [seen[i] for i in sorted(a.complaint_ids or []) if i in seen])
                                      for a in result.items])

    def review(self, who: Actor, period, breach_page: int | None = None, per_page: int = 50,
               may_compute: bool | None = None) -> dict:
        """The quarterly review's data (report.py renders it); it covers every team, so admins and relations only.

        breach_page: one page of the breach list (the workspace); None: the complete list (files, exports).
        Per-team and per-handler figures are included only as far as `who` may read them (staff_scope).
        The figures come from review_cache.py: kept ones, or computed now when that is quick (or may_compute:
        a command line); else {"period", "preparing": True} while the worker computes them. `computed_at`
        says when the figures shown were computed, `current` whether newer ones are being prepared.
        """
        from . import report, review_cache
        if who.role not in (Role.ADMIN, Role.RELATIONS):
            raise Forbidden(gettext("The quarterly review is for admins and employee relations"))
        offset = (max(1, breach_page) - 1) * per_page if breach_page is not None else 0
        kept = review_cache.read(self.session, self.kb, period, self.term_weights, may_compute=may_compute)
        if kept.data is None:  # a long quarter, first asked for: the worker is on it
            return {"period": period.label, "preparing": True}
        data = report.collect(self.session, self.kb, period, self.term_weights, staff_teams=self.staff_scope(who),
                              breach_offset=offset, breach_limit=per_page if breach_page is not None else None,
                              kept=kept.data)
        data.update(computed_at=self.local(kept.computed_at), current=kept.current)
        return data

    def staff_scope(self, who: Actor) -> set[str] | None:
        """Whose per-handler figures `who` may read: every team ("*") for admins, the teams they lead, or none.

        Handlers never see each other's figures; employee relations see the review but not the KPIs.
        """
        if who.is_admin:
            return {"*"}
        led = {t.id for t in self.kb.process.teams if who.user is not None and t.lead == who.user.username}
        return led or None

    def staff_kpis(self, who: Actor, period) -> dict:
        """Per-team and per-handler figures for a team lead's own teams (admins: all teams)."""
        from . import metrics, report
        scope = self.staff_scope(who)
        if scope is None:
            raise Forbidden(gettext("Only admins and team leads see the staff figures"))
        teams = {t.id: (t.zh, t.en) for t in self.kb.process.teams}
        return report.staff_section(self.session, period, metrics.as_of(period), scope, teams)

    # Corrective and preventive actions (capa.py) -----------------------------------------------------------

    def may_decide_capa(self, who: Actor) -> bool:
        """Who decides prevention: admins, employee relations, supervisors and team leads."""
        if who.role in (Role.ADMIN, Role.RELATIONS, Role.SUPERVISOR):
            return True
        return who.user is not None and any(t.lead == who.user.username for t in self.kb.process.teams)

    def _my_teams(self, who: Actor) -> list[str] | None:
        return None if who.is_admin else list((who.user.teams if who.user is not None else None) or [])

    def capa(self, who: Actor, open_only: bool = True, due_before: dt.datetime | None = None, page: int = 1,
             per_page: int = LIST_PAGE_SIZE) -> RowsPage:
        """The actions owned by this person's teams (admins: every team), soonest due first, by pages."""
        return capa_module.listing(self.session, self._my_teams(who), open_only, due_before, page, per_page)

    def create_capa(self, who: Actor, what: str, owner_team: str, due: str | dt.date | None,
                    numbers: list[str] | str | None = None, cluster: str | None = None) -> capa_module.CapaView:
        """Decide an action on complaints this person may see, or on a recurring problem; the owner team sees it."""
        if not self.may_decide_capa(who):
            raise Forbidden(gettext("Admins, employee relations, supervisors and team leads decide corrective actions"))
        problems: list[tuple[str, str]] = []
        what = (what or "").strip()
        if not what:
            problems.append(("what", gettext("Write what is to be done")))
        elif len(what) > capa_module.MAX_WHAT:
            problems.append(("what", gettext("At most %(count)s characters", count=capa_module.MAX_WHAT)))
        if self.kb.process.team(owner_team or "") is None:
            problems.append(("owner_team", gettext("Unknown team '%(team)s': one of %(teams)s", team=str(owner_team)[:40],
                                                      teams=", ".join(t.id for t in self.kb.process.teams))))
        day = _day("due", due, problems)
        if day is None and not any(p[0] == "due" for p in problems):
            problems.append(("due", gettext("Give the due date as YYYY-MM-DD")))
        wanted = [n.strip() for n in (numbers.split(",") if isinstance(numbers, str) else numbers or []) if n.strip()]
        complaints = []
        for n in dict.fromkeys(wanted):
            try:
                complaints.append(self.find(who, n))
            except NotFound:
                problems.append(("complaints", gettext("No complaint %(number)s that you can see", number=n[:20])))
        cluster = (cluster or "").strip()[:200] or None
        if not complaints and cluster is None and not any(p[0] == "complaints" for p in problems):
            problems.append(("complaints", gettext("Link at least one complaint or a recurring problem")))
        if problems:
            raise invalid(problems)
        assert day is not None
        due_at = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=self.clock.zone).astimezone(dt.UTC)
        with self._transaction():
            action = capa_module.create(self.session, what, owner_team, due_at, complaints, cluster, who.label)
            for c in complaints:
                process.record(self.session, c, who.label, "capa", None, str(action.id), note=what[:200])
        return capa_module.views(self.session, [action])[0]

    def finish_capa(self, who: Actor, capa_id: int, evidence: str | None) -> capa_module.CapaView:
        """The owner team (or an admin) marks an action done, with the evidence of what was done."""
        action = self.session.get(CapaAction, capa_id)
        teams = self._my_teams(who)
        if action is None or (teams is not None and action.owner_team not in teams):
            raise NotFound(gettext("No corrective action %(id)s for your teams", id=capa_id))
        evidence = (evidence or "").strip()
        if not evidence:
            raise invalid([("evidence", gettext("Write the evidence of completion (what was done, where it can be checked)"))])
        if action.status == "done":
            raise Conflict(gettext("This action is already done"))
        with self._transaction():
            capa_module.finish(action, evidence[:capa_module.MAX_WHAT], who.label)
        return capa_module.views(self.session, [action])[0]

    # Exports ------------------------------------------------------------------------------------------

    EXPORT_FORMATS = ("xlsx", "csv")

    def _export_format(self, fmt: str) -> str:
        if fmt not in self.EXPORT_FORMATS:
            raise invalid([("format", gettext("The format must be xlsx or csv, not '%(format)s'", format=str(fmt)[:10]))])
        return fmt

    def _audit_export(self, who: Actor, what: str) -> None:
        """An export leaves the system: the audit history says who took what, when (never the content)."""
        with self._transaction():
            self.session.add(StaffAudit(actor=who.label, username=who.username[:60], action="export", to_value=what))

    def export_review(self, who: Actor, period, fmt: str, lang: str = "zh", data: dict | None = None) -> tuple[bytes, str]:
        """The review as a workbook or CSV (every table, the complete breach list); (content, file name).

        data: the review already collected for `who` with the complete breach list (kb report), else collected here.
        """
        from . import export
        fmt = self._export_format(fmt)
        data = data if data is not None else self.review(who, period)
        if data.get("preparing"):
            raise Conflict(gettext("The review of %(value)s is being prepared: try again in a few minutes",
                                   value=period.label))
        tables = export.review_tables(data, lang)
        blob = export.xlsx(tables, lang) if fmt == "xlsx" else export.csv_bytes(tables)
        self._audit_export(who, f"review {period.label} {fmt}")
        return blob, f"review-{period.label}.{fmt}"

    def may_export_identity(self, who: Actor) -> bool:
        """Identity columns in a complaint export: admins and employee relations only (a file travels further
        than a screen); even then a confidential complainant's identity only for employee relations."""
        return who.role in (Role.ADMIN, Role.RELATIONS)

    def export_complaints(self, who: Actor, fmt: str, lang: str = "zh", since: str | dt.date | None = None,
                          until: str | dt.date | None = None) -> tuple[bytes, str]:
        """The complaints this person may see, received between two days, as a workbook or CSV."""
        from . import export
        fmt = self._export_format(fmt)
        problems: list[tuple[str, str]] = []
        first, last = _day("since", since, problems), _day("until", until, problems)
        if problems:
            raise invalid(problems)
        query = self.visible(select(Complaint), who)
        if first is not None:
            query = query.where(Complaint.received_at >= dt.datetime.combine(first, dt.time(), self.clock.zone))
        if last is not None:
            query = query.where(Complaint.received_at < dt.datetime.combine(last + dt.timedelta(days=1), dt.time(),
                                                                            self.clock.zone))
        identity = self.may_export_identity(who)
        names = dict(self.session.execute(select(StaffUser.id, StaffUser.username)).all())
        cats = {c.id: (c.zh, c.en) for c in self.kb.categories}
        depts = {d.id: (d.zh, d.en) for d in self.kb.process.departments}
        pick = 0 if lang == "zh" else 1
        rows = []
        for c in self.session.scalars(query.order_by(Complaint.id).execution_options(yield_per=500)):
            row = {"number": c.number, "received_at": c.received_at, "category": cats.get(c.category, (c.category,) * 2)[pick],
                   "level": c.level, "status": c.status, "channel": c.channel, "team": c.team,
                   "handler": names.get(c.handler_id) if c.handler_id else None,
                   "department": depts.get(c.about_department, (c.about_department,) * 2)[pick] if c.about_department else None,
                   "about_role": c.about_role, "rating": c.rating, "disclosure": c.disclosure,
                   "dues": [getattr(c, due) for _, due, _ in LIMITS]}
            rows.append(export.complaint_row(row, self.identity_for(who, c) if identity else None, identity,
                                             self.clock.zone))
        title = "complaints"
        tables = [(title, export.complaint_header(lang, identity), rows)]
        blob = export.xlsx(tables, lang) if fmt == "xlsx" else export.csv_bytes(tables, titles=False)
        self._audit_export(who, f"complaints {first or ''}..{last or ''} {fmt} ({len(rows)} rows"
                                f"{', identity' if identity else ''})")
        return blob, f"complaints.{fmt}"

    def has_staff(self) -> bool:
        """Whether any staff account exists (until one does, nobody can use the workspace)."""
        return self.session.scalar(select(StaffUser.id).limit(1)) is not None

    def staff_names(self) -> list[str]:
        """Every staff username and display name: redaction removes them from anything published."""
        return [n for u in self.session.scalars(select(StaffUser)) for n in (u.username, u.display_name) if n]

    # Staff actions ------------------------------------------------------------------------------------

    def act(self, who: Actor, number: str, action: str, fields: Mapping[str, Any]) -> Complaint:
        """Run one staff action from ACTIONS on a complaint this person may see, and commit it."""
        c = self.find(who, number)
        spec = ACTIONS.get(action)
        if spec is None:
            raise NotFound(gettext("No action '%(action)s': use one of %(known)s", action=action, known=', '.join(ACTIONS)))
        with self._transaction():
            try:
                spec.run(self, c, fields, who)
            except process.TransitionError as exc:
                raise Conflict(str(exc)) from None
        return c

    def acknowledge_alert(self, who: Actor, alert_id: int, note: str) -> Alert:
        """Someone has taken the alert in hand: who, when and what they are doing about it."""
        alert = self.session.get(Alert, alert_id)
        if alert is None or not any(self.can_see(who, c) for c in self.session.scalars(
                select(Complaint).where(Complaint.id.in_(alert.complaint_ids)))):
            raise NotFound(gettext("No alert %(alert_id)s that you can see", alert_id=alert_id))
        with self._transaction():
            try:
                alerts.acknowledge(self.session, alert, who.username, note)
            except ValueError as exc:
                raise Conflict(str(exc)) from None
        return alert

    # Notifications ----------------------------------------------------------------------------------------

    def _switches(self, owner: str) -> dict[str, bool]:
        off = {s.kind for s in self.session.scalars(select(NotificationSwitch).where(
            NotificationSwitch.owner == owner, NotificationSwitch.enabled.is_(False)))}
        return {kind: kind not in off for kind in notify.STAFF_KINDS}

    def notification_choices(self, who: Actor) -> NotificationChoices:
        if who.user is None:
            raise Forbidden(gettext("Only staff accounts have notification settings"))
        teams = {t.id: self._switches(f"team:{t.id}") for t in self.kb.process.teams} if who.is_admin else {}
        return NotificationChoices(who.user.email, who.user.language or self.kb.notifications.staff_language,
                                   self._switches(f"user:{who.user.id}"), teams)

    def set_notifications(self, who: Actor, enabled: set[str], email: str | None = None,
                          language: str | None = None, team: str | None = None) -> None:
        """Switch kinds on and off for oneself (with one's address and language), or, for admins, for a team."""
        from .schemas import EMAIL
        if who.user is None:
            raise Forbidden(gettext("Only staff accounts have notification settings"))
        if team is not None:
            if not who.is_admin:
                raise Forbidden(gettext("Only admins set a team's notifications"))
            if self.kb.process.team(team) is None:
                raise Invalid(gettext("Unknown team '%(team)s'", team=team), [{"field": "team", "message": "unknown team"}])
            owner = f"team:{team}"
        else:
            email = (email or "").strip() or None
            if email is not None and not EMAIL.fullmatch(email):
                raise Invalid(gettext("Not an e-mail address"),
                              [{"field": "email", "message": "use one like name@example.com"}])
            if language not in (None, "zh-Hans", "zh-Hant", "en"):
                raise Invalid(gettext("Unsupported language"), [{"field": "language",
                                                                     "message": "zh-Hans, zh-Hant or en"}])
            owner = f"user:{who.user.id}"
        with self._transaction():
            if team is None:
                user = self.session.get(StaffUser, who.user.id)
                assert user is not None
                if email != user.email:
                    self._audit(who, user, "email", user.email, email)
                if (language or user.language) != user.language:
                    self._audit(who, user, "language", user.language, language)
                user.email, user.language = email, language or user.language
            current = {s.kind: s for s in self.session.scalars(select(NotificationSwitch).where(
                NotificationSwitch.owner == owner))}
            for kind in notify.STAFF_KINDS:
                on = kind in enabled
                if kind in current:
                    current[kind].enabled = on
                elif not on:
                    self.session.add(NotificationSwitch(owner=owner, kind=kind, enabled=False))

    def outbox(self, who: Actor, page: int = 1, per_page: int = LIST_PAGE_SIZE) -> tuple[dict[str, int], RowsPage]:
        """Counts per status and a page of the dead letters (newest first) with their attempts (admins only)."""
        from . import outbox
        if not who.is_admin:
            raise Forbidden(gettext("Only admins see the outbox"))
        dead = outbox.dead_letters(self.session, page, per_page)
        return outbox.counts(self.session), replace(dead, items=[(m, outbox.attempts_of(self.session, m.id))
                                                                 for m in dead.items])

    def resend(self, who: Actor, message_id: int) -> None:
        from . import outbox
        if not who.is_admin:
            raise Forbidden(gettext("Only admins re-send messages"))
        with self._transaction():
            if not outbox.resend(self.session, message_id):
                raise NotFound(gettext("No dead letter #%(message_id)s", message_id=message_id))

    # Staff accounts (admins) --------------------------------------------------------------------------------

    @staticmethod
    def _admins_only(who: Actor) -> None:
        if not who.is_admin:
            raise Forbidden(gettext("Only admins manage staff accounts"))

    def _account(self, username: str) -> StaffUser:
        from .login_guard import normalise_username
        user = self.session.scalar(select(StaffUser).where(StaffUser.username == normalise_username(username)))
        if user is None:
            raise NotFound(gettext("No staff account '%(username)s' (the accounts page and `kb staff list` list them)", username=username))
        return user

    def _audit(self, who: Actor, user: StaffUser, action: str, before: str | None = None,
               after: str | None = None) -> None:
        self.session.add(StaffAudit(actor=who.label, username=user.username, action=action, from_value=before,
                                    to_value=after))

    def _account_problems(self, role: str | None, teams: list[str] | None, department: str | None,
                          email: str | None, password: str | None = None) -> list[tuple[str, str]]:
        """What is wrong with these account fields (None: not given), each naming what to give instead."""
        from .schemas import EMAIL
        problems = []
        roles = [r.value for r in Role]
        if role is not None and role not in roles:
            problems.append(("role", gettext("Unknown role '%(role)s': use one of %(known)s", role=role, known=', '.join(roles))))
        known = [t.id for t in self.kb.process.teams]
        unknown = [t for t in teams or [] if t not in known]
        if unknown:
            problems.append(("teams", gettext("Unknown teams %(unknown)s: use %(known)s (process.teams in kb.yml)", unknown=', '.join(unknown),
                                                known=', '.join(known))))
        departments = self.kb.process.department_ids
        if department and department not in departments:
            problems.append(("department", gettext("Unknown department '%(department)s': use one of %(known)s (process.departments in kb.yml)", department=department, known=', '.join(departments))))
        if email and (len(email) > 254 or not EMAIL.fullmatch(email)):
            problems.append(("email", gettext("'%(email)s' is not an e-mail address: use one like name@example.com", email=email)))
        if password is not None and len(password) < PASSWORD_LENGTH:
            problems.append(("password", gettext("The password needs at least %(password_length)s characters", password_length=PASSWORD_LENGTH)))
        return problems

    def _end_sessions(self, user: StaffUser) -> None:
        """Every login of this person ends: the cookies name server-side rows (login_guard.py) that are gone."""
        self.session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))

    @contextmanager
    def _keeping_an_admin(self, user: StaffUser, role: str, active: bool) -> Iterator[None]:
        """Refuse the change made inside the block if it leaves no active admin.

        Only an admin manages accounts in the workspace, sees every complaint
        and overrides a conflict of interest: without one, only someone with a
        shell on the server (`kb staff`) could repair it. Two admins demoting
        each other at once must not both succeed. PostgreSQL: the active
        admins' rows are locked before the change, so the second waits and
        then counts without the first. SQLite: the count comes after the
        change is flushed, inside the write transaction the flush began, and a
        second writer waits for the first to commit before its own change.
        """
        if not (user.active and user.role == Role.ADMIN) or (active and role == Role.ADMIN):
            yield
            return
        self.session.scalars(select(StaffUser.id).where(
            StaffUser.role == Role.ADMIN.value, StaffUser.active.is_(True)).order_by(StaffUser.id)
            .with_for_update()).all()
        yield
        self.session.flush()
        if self.session.scalar(select(StaffUser.id).where(
                StaffUser.role == Role.ADMIN.value, StaffUser.active.is_(True)).limit(1)) is None:
            raise Conflict(gettext("%(username)s is the last active admin: make another account admin first (without an admin nobody could manage accounts or see every complaint)", username=user.username),
                           [{"field": "role" if active else "active", "message": "the last active admin"}])

    def staff_accounts(self, who: Actor) -> list[StaffUser]:
        """Every staff account, active or not, by username."""
        self._admins_only(who)
        return list(self.session.scalars(select(StaffUser).order_by(StaffUser.username)))

    def staff_audit(self, who: Actor, username: str | None = None, page: int = 1,
                    per_page: int = LIST_PAGE_SIZE) -> RowsPage:
        """Changes to staff accounts (of one account if named), newest first, by pages with the total."""
        self._admins_only(who)
        query = select(StaffAudit)
        if username:
            query = query.where(StaffAudit.username == self._account(username).username)
        result = page_of(self.session, query, (StaffAudit.id.desc(),), page, per_page)
        return replace(result, items=[AuditView(self.local(a.at), a.actor, a.username, a.action,  # type: ignore[arg-type]
                                                a.from_value, a.to_value) for a in result.items])

    def create_staff(self, who: Actor, username: str, password: str, role: str = "handler",
                     teams: list[str] | tuple[str, ...] = (), display_name: str | None = None,
                     department: str | None = None, email: str | None = None) -> StaffUser:
        """A new account (the password stored as an argon2 hash), audited as created."""
        from .auth import create_staff
        from .login_guard import normalise_username
        self._admins_only(who)
        email = (email or "").strip() or None
        problems = self._account_problems(role, list(teams), department, email, password)
        if not normalise_username(username):
            problems.insert(0, ("username", gettext("The username must not be empty")))
        elif len(normalise_username(username)) > 60:
            problems.insert(0, ("username", gettext("The username has at most 60 characters")))
        if problems:
            raise invalid(problems)
        with self._transaction():
            name = normalise_username(username)
            if self.session.scalar(select(StaffUser.id).where(StaffUser.username == name)) is not None:
                raise Conflict(gettext("A staff account '%(name)s' already exists", name=name),
                               [{"field": "username", "message": "already exists"}])
            user = create_staff(self.session, name, password, role, list(dict.fromkeys(teams)),
                                (display_name or "").strip()[:100] or None, email=email,
                                department=department or None)
            self._audit(who, user, "created", None, _describe(user))
        return user

    def update_staff(self, who: Actor, username: str, *, active: bool | None = None, role: str | None = None,
                     teams: list[str] | tuple[str, ...] | None = None, department: str | None = None,
                     email: str | None = None) -> StaffUser:
        """Change an account; None leaves a field as it is, '' clears the department or the e-mail.

        Each change is one audit row (from → to). Deactivating ends every
        session of the account at once; it can no longer log in.
        """
        self._admins_only(who)
        if email is not None:
            email = email.strip()
        new_teams = list(dict.fromkeys(teams)) if teams is not None else None
        problems = self._account_problems(role, new_teams, department, email)
        if problems:
            raise invalid(problems)
        with self._transaction():
            user = self._account(username)
            with self._keeping_an_admin(user, role if role is not None else user.role,
                                        active if active is not None else user.active):
                self._apply(who, user, active, role, new_teams, department, email)
        return user

    def _apply(self, who: Actor, user: StaffUser, active: bool | None, role: str | None,
               teams: list[str] | None, department: str | None, email: str | None) -> None:
        """Change what differs, one audit row per change."""
        if active is not None and active != user.active:
            user.active = active
            self._audit(who, user, "reactivated" if active else "deactivated")
            if not active:
                self._end_sessions(user)
        if role is not None and role != user.role:
            self._audit(who, user, "role", user.role, role)
            user.role = role
        if teams is not None and teams != list(user.teams or []):
            self._audit(who, user, "teams", ", ".join(user.teams or []), ", ".join(teams))
            user.teams = teams
        if department is not None and (department or None) != user.department:
            self._audit(who, user, "department", user.department, department or None)
            user.department = department or None
        if email is not None and (email or None) != user.email:
            self._audit(who, user, "email", user.email, email or None)
            user.email = email or None

    def reset_password(self, who: Actor, username: str, new_password: str) -> StaffUser:
        """Set a new password (audited, never recorded); the account's sessions end, so it logs in again."""
        from .auth import hash_password
        self._admins_only(who)
        problems = self._account_problems(None, None, None, None, new_password or "")
        if problems:
            raise invalid(problems)
        with self._transaction():
            user = self._account(username)
            user.password_hash = hash_password(new_password)
            self._end_sessions(user)
            self._audit(who, user, "password_reset")
        return user


    # Attachments -------------------------------------------------------------------------------------------

    @property
    def store(self) -> attachments.Store:
        return attachments.Store(self.kb.path("attachments"))

    def _may_see_files(self, who: Actor, c: Complaint) -> None:
        if who is not COMPLAINANT and not self.can_see(who, c):
            raise NotFound(gettext("No such complaint that you can see"))

    def _files_of(self, who: Actor, c: Complaint):
        query = select(Attachment).where(Attachment.complaint_id == c.id)
        if who is COMPLAINANT:  # their own evidence only: staff's interview notes are internal
            query = query.where(Attachment.uploaded_by == process.COMPLAINANT)
        return query

    def _view(self, who: Actor, a: Attachment) -> AttachmentView:
        return AttachmentView(a.id, a.name, a.content_type, a.size,
                              a.uploaded_by if who is not COMPLAINANT else process.COMPLAINANT,
                              self.local(a.created_at))  # type: ignore[arg-type]

    def attachments(self, who: Actor, c: Complaint) -> list[AttachmentView]:
        """The files of a complaint this person may see, oldest first.

        Staff: every file of a complaint they may see (can_see). The complainant
        (`who` is COMPLAINANT, `c` found by tracking code with by_code): the
        files they attached themselves, never staff's.
        """
        self._may_see_files(who, c)
        return [self._view(who, a) for a in self.session.scalars(self._files_of(who, c).order_by(Attachment.id))]

    def attachment_file(self, who: Actor, c: Complaint, attachment_id: int) -> tuple[AttachmentView, Path]:
        """One file and where its bytes are; NotFound unless this person may see it (never says it exists)."""
        self._may_see_files(who, c)
        row = self.session.scalar(self._files_of(who, c).where(Attachment.id == attachment_id))
        if row is not None and self.store.path(row.storage_id).is_file():
            return self._view(who, row), self.store.path(row.storage_id)
        if row is not None:
            log.error("attachment %s of %s is missing from %s", row.id, c.number, self.store.folder)
        raise NotFound(gettext("No attachment %(attachment_id)s on this complaint", attachment_id=attachment_id))

    def attach(self, who: Actor, c: Complaint, uploads: list[Upload], text: str | None = None) -> list[AttachmentView]:
        """Check, clean and store files for a complaint; one history entry "attachment" per file.

        Staff attach to a complaint they may see (found with `find`): interview
        notes, documents. The complainant (`who` is COMPLAINANT) attaches to the
        one their tracking code opens (`by_code`) while it is open, optionally
        with `text`, a thread message the files come with. Every file is checked
        before any is kept: one refused file refuses the request, naming it and
        why. Each side may attach kb.yml's attachments.max_files per complaint.
        """
        self._may_see_files(who, c)
        settings, field = self.kb.attachments, attachments.FIELD
        if not uploads:
            raise Invalid(gettext("Choose a file to upload"),
                          [{"field": field, "message": f"send one or more files in the '{field}' field"}])
        if text is not None and who is not COMPLAINANT:
            raise Invalid(gettext("Staff attachments are internal: send the message on its own"), [{"field": "text", "message": "only the complainant's files come with a "
                                                                     "message"}])
        if c.purged_at is not None or (who is COMPLAINANT and c.status == "closed"):
            raise Conflict(gettext("This complaint is closed: no more attachments"))
        self._check_count(who, c, len(uploads))
        cleaned = []
        for upload in uploads:
            try:
                cleaned.append(attachments.check(upload, settings.max_bytes, settings.max_pixels))
            except Refused as exc:
                error = Invalid(exc.message, [{"field": field, "message": exc.message}])
                error.status = exc.status
                raise error from None
        stored: list[str] = []
        rows: list[Attachment] = []
        try:
            with self._transaction():
                # Two uploads at once wait for each other here (PostgreSQL; SQLite writes one at a time).
                self.session.execute(select(Complaint.id).where(Complaint.id == c.id).with_for_update())
                self._check_count(who, c, len(uploads))
                message = None
                if text is not None and text.strip():
                    try:
                        message = process.post_message(self.session, c, text)
                    except process.TransitionError as exc:
                        raise Conflict(str(exc)) from None
                    self.session.flush()
                for f in cleaned:
                    stored.append(self.store.put(f.data))
                    rows.append(Attachment(complaint_id=c.id, storage_id=stored[-1], name=f.name,
                                           content_type=f.content_type, size=len(f.data), uploaded_by=who.label,
                                           created_at=utcnow(), message_id=message.id if message else None))
                    process.record(self.session, c, who.label, "attachment", None, f.name, note=f.content_type)
                self.session.add_all(rows)
                c.updated_at = utcnow()
        except BaseException:
            self.store.delete(stored)  # nothing was committed: no file stays without its row
            raise
        return [self._view(who, a) for a in rows]

    def _check_count(self, who: Actor, c: Complaint, adding: int) -> None:
        """Each side (the complainant, staff) may attach attachments.max_files files to a complaint."""
        limit = self.kb.attachments.max_files
        mine = Attachment.uploaded_by == process.COMPLAINANT
        count = self.session.scalar(select(func.count(Attachment.id)).where(
            Attachment.complaint_id == c.id, mine if who is COMPLAINANT else ~mine)) or 0
        if count + adding > limit:
            left = max(limit - count, 0)
            why = f"at most {limit} files per complaint ({left} more allowed)"
            raise Invalid(gettext("Too many files: at most %(limit)s per complaint (%(left)s more allowed)",
                                  limit=limit, left=left),
                          [{"field": attachments.FIELD, "message": why}])

    # The complainant's side -----------------------------------------------------------------------------

    def register(self, data, entered_by: StaffUser | None = None, idempotency_key: str | None = None,
                 digest: str | None = None) -> Receipt:
        """Store and commit (exactly once per idempotency key), then raise alerts.

        A key is not looked up first: nearly every key is new, and that query
        was a fifth of a submission's database work. The key's primary key
        catches a retry at commit instead, which is rolled back (the complaint
        with it) and answered with the first submission's receipt, whether that
        committed long ago or a moment ago in another worker. Only the same
        submission (`digest` of its body) is replayed: a different one sent
        with a used key gets Conflict (409) and learns nothing of the first.
        """
        session = self.session
        key_hash = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest() if idempotency_key else None
        complaint, code = process.register(session, self.kb, self.clock, data, entered_by=entered_by)
        self._learn_from_submission(complaint, getattr(data, "browser_token", None))
        if key_hash:
            session.add(IdempotencyKey(key_hash=key_hash, complaint_id=complaint.id, code=code, body_hash=digest))
        try:
            notify.defer(session, self.kb, self.clock.zone, notify.take_events(session), code=code)
            session.commit()
        except IntegrityError:
            session.rollback()
            earlier = self._replay(key_hash, digest) if key_hash else None
            if earlier is None:
                raise
            return Receipt(*earlier, replayed=True)
        try:
            for alert in alerts.check_new_complaint(session, self.kb, complaint, self.term_weights):
                notify.defer_alert(session, self.kb, alert)
            session.commit()
        except Exception:  # an alert failure must not undo an acknowledged complaint
            session.rollback()
            log.exception("alert check failed for %s", complaint.number)
        return Receipt(complaint, code)

    def _replay(self, key_hash: str, digest: str | None) -> tuple[Complaint, str] | None:
        """The complaint and code a key was first answered with, while the key is kept (privacy.py: a day)."""
        row = self.session.get(IdempotencyKey, key_hash)
        if row is None:
            return None
        if row.body_hash is not None and row.body_hash != digest:  # None: a key stored before digests
            raise Conflict(gettext("This Idempotency-Key was used for a different complaint: send a new key with a new complaint"), [{"field": "Idempotency-Key", "message": "already used for a different body"}])
        return self.session.get(Complaint, row.complaint_id), row.code  # type: ignore[return-value]

    def reply(self, code: str, text: str) -> Complaint:
        """The complainant answers a handler's question, identified only by the tracking code."""
        c = self.by_code(code)
        with self._transaction():
            try:
                process.post_message(self.session, c, text)
            except process.TransitionError as exc:
                raise Conflict(str(exc)) from None
        return c

    def rate(self, code: str, score: int, comment: str | None) -> Complaint:
        c = self.by_code(code)
        with self._transaction():
            try:
                process.rate(self.session, self.kb, self.clock, c, score, comment)
            except process.TransitionError as exc:
                raise Conflict(str(exc)) from None
        return c

    def case_report(self, who: Actor, number: str):
        """The written report for staff who may see the complaint (with the handler's name)."""
        from . import case_report
        c = self.find(who, number)
        return case_report.build(self.kb, c, self.clock.zone, self._display_name(c.handler_id), for_staff=True)

    def complainant_report(self, code: str):
        """The written report for the complainant: no identity, no staff names; once the result is fed back."""
        from . import case_report
        c = self.by_code(code)
        if c.status not in ("resolved", "closed") or not (c.response or "").strip() or c.purged_at is not None:
            raise Conflict(gettext("The report exists once the result is fed back"))
        return case_report.build(self.kb, c, self.clock.zone, None, for_staff=False)

    def answer_report(self, code: str, decision: str, comment: str | None) -> Complaint:
        c = self.by_code(code)
        with self._transaction():
            try:
                process.answer_report(self.session, self.clock, c, decision, comment)
            except process.TransitionError as exc:
                raise Conflict(str(exc)) from None
        return c

    def _display_name(self, user_id: int | None) -> str | None:
        user = self.session.get(StaffUser, user_id) if user_id is not None else None
        return user.display_name if user else None

    def emergency_contact(self, c: Complaint) -> str | None:
        """The emergency contact for a complaint about danger (recognised, or filed under a danger category)."""
        from .sensitive import emergency_contact
        return emergency_contact(self.kb, c.recognised_kind, c.category)

    def acknowledgement(self, c: Complaint) -> str:
        """The automatic reply: number, level and the dates we promise (the limits kb.yml sets)."""
        def when(moment: dt.datetime | None) -> str:
            local = self.local(moment)
            return local.strftime("%Y-%m-%d %H:%M") if local else "—"

        assess, first = when(c.assessment_due_at), when(c.first_response_due_at)
        parts = [gettext("Your complaint %(number)s was received (level: %(level)s).", number=c.number,
                         level=gettext(LEVEL_NAMES[c.level]))]
        if c.safety_flag:
            parts.append(gettext("This is urgent and was escalated at once: if you are in danger, leave and call "
                                 "for help."))
        contact = self.emergency_contact(c)
        if contact:
            zh_contact, _, en_contact = contact.partition(" · ")  # kb.yml's words, "中文 · English"
            parts.append(pick((zh_contact, en_contact or zh_contact)))
        parts.append(gettext("It will be assessed by %(assess)s and get a first response by %(first)s.",
                             assess=assess, first=first))
        if c.resolution_due_at:
            parts.append(gettext("It will be handled by %(when)s.", when=when(c.resolution_due_at)))
        days = self.kb.process.sla.result_working_days
        parts.append(gettext("The result follows within 1 working day after the investigation ends.") if days == 1
                     else gettext("The result follows within %(days)s working days after the investigation ends.",
                                  days=days))
        parts.append(gettext("Keep your tracking code to check progress."))
        return ("" if i18n.current().startswith("zh") else " ").join(parts)

    # Publishing -----------------------------------------------------------------------------------------

    @staticmethod
    def check_publishable(c: Complaint) -> None:
        """Only a resolved complaint with a response can become an article: the article is the answer."""
        if c.status not in (Status.RESOLVED, Status.CLOSED) or not (c.response or "").strip():
            raise Conflict(gettext("%(number)s is “%(status)s”: only a resolved complaint with a response can be "
                                   "published", number=c.number, status=label(c.status)))

    def article(self, who: Actor, number: str) -> tuple[Complaint, publish.Draft, publish.Draft]:
        """The complaint, its saved draft (or the fresh one) and the fresh redacted draft."""
        c = self.find(who, number)
        self.check_publishable(c)
        fresh = publish.draft_from(self.kb, c, self.staff_names())
        return c, publish.read_draft(self.kb, fresh.id) or fresh, fresh

    def save_article(self, who: Actor, number: str, edit: Callable[[publish.Draft], None] | None,
                     approve: bool) -> Path:
        """Write the (edited) draft as a redacted case file; an approval queues the site's rebuild.

        With publishing.second_approval, a handler's approval waits for an admin's (HR decides what the whole
        company reads): the file stays `published: false` until then. An admin's approval publishes at once.
        The worker runs the build (build_queue.py); the article's page shows how it went. An edit of an article
        that is already live, saved or waiting for approval, goes to `publish.pending_path` and leaves the live
        file alone: writing it `published: false` took the page off the site at the next build, anyone's.
        """
        c, draft, _ = self.article(who, number)
        if edit is not None:
            edit(draft)
        names = self.staff_names()
        waits = approve and not who.is_admin and self.kb.publishing.second_approval
        publishes = approve and not waits
        pending = publish.pending_path(self.kb, draft.id)
        target = pending if not publishes and publish.is_live(self.kb, draft.id) else None
        try:
            path = publish.write_case(self.kb, draft, publish.redactor_for(self.kb, c, names),
                                      published=publishes, path=target)
            if publishes:
                pending.unlink(missing_ok=True)  # approved: the live file holds the edit now
        except ContentError as exc:
            raise Invalid(str(exc), [{"field": getattr(p, "field", None) or "body",
                                      "message": str(getattr(p, "message", p))} for p in exc.problems]) from None
        with self._transaction():
            if approve:
                build_queue.request(self.session, draft.id, c.id, who.label, queue=not waits)
            action = "article_approved" if waits else "article_published" if approve else "article_draft"
            process.record(self.session, c, who.label, action, None, path.name)
        return path

    def publication(self, who: Actor, article_id: str) -> Publication | None:
        """The article's newest approval and build, for its page (whoever may open the article sees it)."""
        return build_queue.latest(self.session, article_id)

    def publications(self, who: Actor, limit: int = 50) -> list[Publication]:
        """Approvals waiting for an admin and the builds, newest first: admins' list."""
        if not who.is_admin:
            raise Forbidden(gettext("Only admins see the publishing list"))
        return build_queue.recent(self.session, limit)

    def is_published(self, case_id: str) -> bool:
        return publish.is_live(self.kb, case_id)

    # The working-day calendar admins keep ---------------------------------------------------------------

    def calendar_days(self, who: Actor) -> list[CalendarDay]:
        """The holidays and make-up workdays admins entered, in date order."""
        self._calendar_admin(who)
        return holidays.active(self.session)

    def add_calendar_days(self, who: Actor, kind: str, first: str | dt.date | None, last: str | dt.date | None,
                          name: str | None) -> list[CalendarDay]:
        """Enter a holiday (or a run of them) or a make-up workday; checked first, nothing half-added."""
        self._calendar_admin(who)
        listed = {row.day: row for row in holidays.active(self.session)}
        days, problems = holidays.check(kind, first, last, name, self.kb.process.calendar, listed,
                                        self.clock.today())
        if problems:
            raise invalid(problems)
        label_ = (name or "").strip()
        with self._transaction():
            rows = [CalendarDay(day=d, kind=kind, name=label_, added_by=who.label) for d in days]
            self.session.add_all(rows)
        self._calendar_changed()
        log.info("%s added %s %s to %s (%s)", who.label, kind, days[0], days[-1], label_)
        return rows

    def remove_calendar_day(self, who: Actor, day_id: int) -> CalendarDay:
        """Take a day out of the calendar; the row stays, marked removed, as the audit trail."""
        self._calendar_admin(who)
        row = self.session.get(CalendarDay, day_id)
        if row is None or row.removed_at is not None:
            raise NotFound(gettext("No calendar day %(id)s", id=day_id))
        with self._transaction():
            row.removed_by, row.removed_at = who.label, utcnow()
        self._calendar_changed()
        log.info("%s removed %s %s", who.label, row.kind, row.day)
        return row

    @staticmethod
    def _calendar_admin(who: Actor) -> None:
        if not who.is_admin:
            raise Forbidden(gettext("Only admins keep the holiday calendar"))

    def _calendar_changed(self) -> None:
        stored = self.clock.calendar.stored
        if stored is not None and hasattr(stored, "forget"):
            stored.forget()

    def calendar_gap(self, who: Actor) -> list[int]:
        """Years deadlines soon fall in that no calendar covers: admins are told (everyone else cannot act)."""
        if not who.is_admin:
            return []
        return self.clock.calendar.years_without_official_calendar(self.clock.today())

    # Usage, without identity ----------------------------------------------------------------------------

    def clean_query(self, text: str | None) -> str | None:
        """A search or complaint text as analytics may keep it: redacted, and dropped when sensitive."""
        from kb_builder.redact import Redactor

        from .sensitive import assess
        if not text or assess(self.kb, text).sensitive:
            return None
        return Redactor.for_settings(self.kb.process.privacy).redact(text[:200])[0]

    def record_deflection(self, article_id: str, query: str | None, browser_token: str | None = None,
                          searcher: Any = None) -> None:
        """A suggested article solved the problem: counted, with the redacted query and, for a week, the
        browser token's hash (learning.py: a complaint from that browser then makes it a false deflection).

        The query is also proposed as a phrasing of the article, for HR to approve like a handler's link
        (same queue, guard and in-place edit): redacted as a complaint's wording is (learning.proposal_text),
        never for a sensitive matter, not when it is one of the article's phrasings already, and once per text:
        a later click with the same text supports the same proposal. The deflection names its proposal, so a
        false one withdraws it (learning.contradict); the proposal keeps no hash and no identity.
        """
        clean = self.clean_query(query)  # None when empty or sensitive
        text = learning.proposable(self.kb, query or "", publish.redactor_for(self.kb, None, self.staff_names())) \
            if clean else ""
        existing, fresh = None, None
        if text and searcher is not None:
            existing = self.session.scalar(select(Phrasing).where(
                Phrasing.article_id == article_id, Phrasing.text == text).order_by(Phrasing.id).limit(1))
            path = phrasings.article_file(self.kb.content_dir, article_id) if existing is None else None
            if path is not None and learning.is_new(text, phrasings.questions_of(path)):
                with _index():
                    found = searcher.phrasing_conflicts(article_id, text)
                fresh = Phrasing(article_id=article_id, text=text, proposed_by=learning.DEFLECTION,
                                 conflicts=[vars(x) for x in found or []])
        with self._transaction():
            learning.forget_old_tokens(self.session, utcnow())
            d = Deflection(article_id=article_id, query=clean or "", browser_hash=learning.browser_hash(browser_token))
            if fresh is not None:
                self.session.add(fresh)
                self.session.flush()
                existing = fresh
            if existing is not None:
                d.phrasing_id = existing.id
                if existing.status == learning.WITHDRAWN:  # a click that stands proposes it again
                    existing.status, existing.decided_by, existing.decided_at = "proposed", None, None
            self.session.add(d)

    def record_event(self, kind: str, query: str | None, result_count: int | None, page: str | None,
                     value: int | None, article_ids: list[str]) -> None:
        """An anonymous usage event from the site (no identity, no address)."""
        with self._transaction():
            self.session.add(AnalyticsEvent(kind=kind, query=self.clean_query(query), result_count=result_count,
                                            page=page, value=value, article_ids=article_ids))

    def _learn_from_submission(self, c: Complaint, browser_token: str | None) -> None:
        """In the registering transaction: earlier deflections of this browser were false; the suggestions on
        screen were passed by (an anonymous event: the articles and the redacted text, not the complaint)."""
        if browser_token:
            learning.forget_old_tokens(self.session, c.received_at)
            learning.contradict(self.session, browser_token, c.received_at)
        if c.channel in ("online_form", "anonymous_platform") and c.shown_articles:
            self.session.add(AnalyticsEvent(kind=learning.PASSED, query=self.clean_query(c.description),
                                            article_ids=list(c.shown_articles)[:20]))

    # Learning from answered complaints -----------------------------------------------------------------

    def link_candidates(self, who: Actor, number: str, searcher: Any, limit: int = 5) -> list:
        """The articles the same search suggests for the complaint's text, each with why (confident or not)."""
        c = self.find(who, number)
        with _index():
            return searcher.suggest(c.description, limit=limit).hits

    def link_article(self, who: Actor, number: str, article_id: str, searcher: Any) -> Phrasing:
        """The handler says which existing article answered this complaint: its wording becomes a proposal.

        The text is the complaint's opening sentences (learning.phrasing_of), redacted as `kb publish`
        redacts; a sensitive matter is linked in the history but proposes nothing. The guard's conflicts
        are kept for the approver.
        """
        c = self.find(who, number)
        if c.status not in (Status.RESOLVED, Status.CLOSED):
            raise Conflict(gettext("%(number)s is not resolved yet: link the article that answered it once it is",
                                   number=c.number))
        article_id = (article_id or "").strip()
        with _index():
            known = bool(article_id) and searcher.has_article(article_id)
        if not known or phrasings.article_file(self.kb.content_dir, article_id) is None:
            raise Invalid(gettext("Invalid parameters"), [{"field": "article_id", "message": gettext(
                "No published article '%(article)s' in content/", article=article_id[:100])}])
        existing = self.session.scalar(select(Phrasing).where(Phrasing.complaint_id == c.id,
                                                              Phrasing.article_id == article_id))
        if existing is not None:
            return existing
        text = "" if c.purged_at is not None else \
            learning.proposable(self.kb, c.description, publish.redactor_for(self.kb, c, self.staff_names()))
        with _index():
            found = searcher.phrasing_conflicts(article_id, text) if text else None
        with self._transaction():
            p = Phrasing(article_id=article_id, complaint_id=c.id, text=text,
                         status="proposed" if text else "rejected", proposed_by=who.label,
                         conflicts=[vars(x) for x in found or []])
            self.session.add(p)
            process.record(self.session, c, who.label, "article_linked", None, article_id)
        return p

    def phrasings(self, who: Actor, status: str | None = "proposed", page: int = 1,
                  per_page: int = LIST_PAGE_SIZE) -> RowsPage:
        """Proposed (or approved, rejected) phrasings, newest first, by pages: HR's list to approve."""
        self._hr_only(who)
        query = select(Phrasing).where(Phrasing.text != "")
        if status:
            query = query.where(Phrasing.status == status)
        return page_of(self.session, query, (Phrasing.id.desc(),), page, per_page)

    def decide_phrasing(self, who: Actor, phrasing_id: int, approve: bool, searcher: Any, text: str | None = None,
                        despite_conflicts: bool = False) -> Phrasing:
        """HR approves (possibly edited) or rejects a proposal; approval writes it into the article's file.

        An edited text is redacted again and checked by the guard again. A proposal that would win other
        articles' phrasings is refused (409, with them listed) unless the approver confirms despite them.
        """
        self._hr_only(who)
        p = self.session.get(Phrasing, phrasing_id)
        if p is None or not p.text:
            raise NotFound(gettext("No proposed phrasing %(id)s", id=phrasing_id))
        if p.status != "proposed":
            done = {"approved": gettext("Phrasing %(id)s is already approved", id=phrasing_id),
                    "withdrawn": gettext("Phrasing %(id)s was withdrawn", id=phrasing_id)}
            raise Conflict(done.get(p.status) or gettext("Phrasing %(id)s is already rejected", id=phrasing_id))
        if approve:
            self._write_phrasing(p, text, searcher, despite_conflicts)
        with self._transaction():
            p.status, p.decided_by, p.decided_at = ("approved" if approve else "rejected"), who.label, utcnow()
        return p

    @staticmethod
    def _hr_only(who: Actor) -> None:
        if not who.is_admin:
            raise Forbidden(gettext("Only admins (HR) review phrasings and article signals"))

    def _write_phrasing(self, p: Phrasing, text: str | None, searcher: Any, despite_conflicts: bool) -> None:
        if text is not None and text.strip() != p.text:
            c = self.session.get(Complaint, p.complaint_id) if p.complaint_id else None
            clean = learning.proposal_text(text, publish.redactor_for(self.kb, c, self.staff_names()))
            if not clean:
                raise Invalid(gettext("The phrasing is empty"), [{"field": "text", "message": "required"}])
            with _index():
                found = searcher.phrasing_conflicts(p.article_id, clean)
            p.text, p.conflicts = clean, [vars(x) for x in found or []]
        if p.conflicts and not despite_conflicts:
            self.session.commit()  # the edited text and its conflicts are kept for the approver to see
            raise Conflict(gettext("This phrasing would win %(count)s phrasing(s) of other articles: edit it, "
                                   "reject it, or approve despite the conflicts", count=len(p.conflicts)),
                           [{"field": "text", "message": f"{x['article_id']}: {x['phrasing']}"} for x in p.conflicts])
        path = phrasings.article_file(self.kb.content_dir, p.article_id)
        if path is None:
            raise NotFound(gettext("No file in content/ for '%(article)s'", article=p.article_id))
        try:
            phrasings.add_question(path, p.text, self.kb.category_ids)
        except ContentError as exc:
            raise Invalid(str(exc), [{"field": "file", "message": str(problem)} for problem in exc.problems]) from None

    def article_signals(self, who: Actor, article_id: str) -> dict:
        """Per article: phrasings that led to it, and those that led past it to a complaint (learning.py)."""
        self._hr_only(who)
        return learning.signals(self.session, article_id)

    # Privacy ----------------------------------------------------------------------------------------------

    def erase_identity(self, who: Actor, number: str, reason: str) -> Complaint:
        """Forget who complained (the complainant's request); the history says that it happened.

        Attachments stay: they are evidence about the matter, not the complainant's identity (photos are
        stripped of EXIF and GPS when they arrive). They go with the complaint's text at retention (purge).
        """
        if not who.is_admin:
            raise Forbidden(gettext("Only an admin can erase an identity"))
        if not (reason or "").strip():
            raise Invalid(gettext("Give the reason"), [{"field": "reason", "message": "required"}])
        c = self.find(who, number)
        with self._transaction():
            privacy.erase_identity(self.session, c, who.label, reason.strip())
        return c

    def purge(self, days: int | None = None, dry_run: bool = False) -> tuple[int, list[str]]:
        """Strip closed complaints past retention (privacy.purge), then delete their attachments' files.

        The files go once the rows' deletion is committed; files that no row names (a crash between
        writing and committing) are swept too, once an hour old.
        """
        days = days or self.kb.process.privacy.retention_days
        files: list[str] = []
        with self._transaction():
            numbers = privacy.purge(self.session, days, dry_run=dry_run, removed_files=files)
            if not dry_run:  # a purged complaint's wording goes unless HR already wrote it into an article
                self.session.execute(delete(Phrasing).where(Phrasing.status != "approved", Phrasing.complaint_id.in_(
                    select(Complaint.id).where(Complaint.purged_at.is_not(None)))))
        if not dry_run:
            self.store.delete(files)
            self.store.sweep(set(self.session.scalars(select(Attachment.storage_id))))
        return days, numbers

    # The one commit -------------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """Commit when the block succeeds, roll back when it raises: a refused action changes nothing."""
        try:
            yield self.session
            notify.defer(self.session, self.kb, self.clock.zone, notify.take_events(self.session))
        except BaseException:
            self.session.rollback()
            raise
        self.session.commit()


PASSWORD_LENGTH = 10


@contextmanager
def _index() -> Iterator[None]:
    """The search index's absence as the desk's error (503 with what to run), not a traceback."""
    from kb_builder.search import IndexNotBuilt
    try:
        yield
    except IndexNotBuilt as exc:
        raise NoIndex(str(exc)) from None


def _describe(user: StaffUser) -> str:
    """An account as its audit row's "to" on creation: everything but the password."""
    parts = [f"role={user.role}", f"teams={','.join(user.teams or [])}"]
    if user.department:
        parts.append(f"department={user.department}")
    if user.email:
        parts.append(f"email={user.email}")
    return "; ".join(parts)


def _day(name: str, value: str | dt.date | None, problems: list[tuple[str, str]]) -> dt.date | None:
    """A YYYY-MM-DD day of a search filter; a bad one joins the problems."""
    if value is None or value == "":
        return None
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip())
    except ValueError:
        problems.append((name, gettext("Write the date as YYYY-MM-DD, not '%(value)s'", value=str(value)[:20])))
        return None
    if not 1970 <= day.year <= 9998:  # beyond, a day's bounds in UTC would overflow
        problems.append((name, gettext("Give a date between 1970 and 9998")))
        return None
    return day
