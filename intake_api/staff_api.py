"""JSON API for staff (login required, CSRF token in the X-CSRFToken header).

It parses, calls the desk (desk.py) and serialises; the workspace pages run
the same desk calls through forms and render the same views.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from flask import Blueprint, jsonify, request
from flask_wtf.csrf import generate_csrf
from pydantic import Field

from .auth import staff_required
from .complaints import receipt
from .db import get_session
from .desk import ACTIONS, AttachmentView, ComplaintView
from .errors import ApiError
from .i18n import gettext
from .login_guard import log_in, log_out
from .models import StaffUser, utcnow
from .openapi import AccountOut, AccountsOut, AlertsOut, AuditOut, ListOut, OkOut, ReceiptOut, doc
from .publish import placeholders_left
from .queue import LIST_PAGE_SIZE, PAGE_SIZE
from .schemas import ComplaintIn, _In, parse
from .suggest import searcher
from .web import accepts_files, actor, desk, send_attachment, uploads
from .workflow import LEVEL_NAMES, STATUSES, event_label, event_value, label

bp = Blueprint("staff_api", __name__, url_prefix="/api/v1/staff")


def iso(moment: dt.datetime | None) -> str | None:
    """A moment as ISO 8601 with the configured zone's offset (the desk gives every time in that zone)."""
    return moment.isoformat() if moment is not None else None


def summary(v: ComplaintView) -> dict:
    c = v.complaint
    return {
        "number": c.number, "status": c.status, "status_label": label(c.status),
        "level": c.level, "level_label": gettext(LEVEL_NAMES[c.level]), "category": c.category,
        "team": c.team, "handler": v.handler, "channel": c.channel, "anonymous": c.anonymous,
        "about": {"department": c.about_department, "role": c.about_role} if c.about_department or c.about_role
        else None,
        "solutions": list(c.solutions or []),
        "promise": {"text": c.promise_text, "due_at": iso(desk().local(c.promise_due_at)),
                    "kept_at": iso(desk().local(c.promise_kept_at))} if c.promise_due_at else None,
        "investigation_step": c.investigation_step,
        "review": {"due_at": iso(desk().local(c.review_due_at)), "outcome": c.review_outcome,
                   "arbitration_by": c.arbitration_by, "arbitration_result": c.arbitration_result}
        if c.review_due_at else None,
        "safety_flag": c.safety_flag, "received_at": iso(desk().local(c.received_at)),
        "recognised": {"kind": c.recognised_kind, "reason": c.recognised_reason} if c.recognised_kind else None,
        "temporary_measures": c.temporary_measures,
        "next_deadline": {"kind": v.next_deadline.kind, "due_at": iso(v.next_deadline.due_at)}
        if v.next_deadline else None,
        "overdue": v.overdue,
        "description": c.description[:200],
    }


def detail(v: ComplaintView) -> dict:
    c = v.complaint
    data = summary(v)
    data.update({
        "description": c.description, "request": c.request, "location": c.location,
        "occurred_at": iso(desk().local(c.occurred_at)) if c.occurred_at else c.occurred_on and c.occurred_on.isoformat(), "responsibility": c.responsibility, "response": c.response,
        "disclosure": c.disclosure, "identity": v.identity,
        "messages": [{"author": m.author, "body": m.body, "at": iso(m.at)} for m in v.messages],
        "shown_articles": c.shown_articles, "rating": c.rating, "rating_comment": c.rating_comment,
        "dates": {k: iso(when) for k, when in v.dates.items()},
        "history": [{"at": iso(e.at), "actor": e.actor, "action": e.action, "from": e.from_value,
                     "to": e.to_value, "note": e.note, "label": event_label(e.action),
                     "from_label": event_value(e.action, e.from_value), "to_label": event_value(e.action, e.to_value)}
                    for e in v.history],
        "next_statuses": list(v.next_statuses),
        "tasks": [task_json(t) for t in v.tasks],
        "attachments": [attachment_json(c.number, a) for a in desk().attachments(actor(), c)],
    })
    return data


def task_json(t) -> dict:
    return {"id": t.id, "team": t.team, "text": t.text, "due_at": iso(desk().local(t.due_at)),
            "done_at": iso(desk().local(t.done_at)), "done_by": t.done_by, "note": t.note}


def attachment_json(number: str, a: AttachmentView) -> dict:
    return {"id": a.id, "name": a.name, "content_type": a.content_type, "size": a.size,
            "uploaded_by": a.uploaded_by, "at": iso(a.at),
            "url": f"/api/v1/staff/complaints/{number}/attachments/{a.id}"}


class LoginIn(_In):
    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


@bp.post("/login")
@doc(json=LoginIn, ok=(200, OkOut), fail=(400, 401, 429), tags=["staff"])
def login():
    data = parse(LoginIn, request.get_json(silent=True))
    user = log_in(get_session(), data.username, data.password, request.remote_addr)
    return jsonify({"ok": True, "username": user.username, "role": user.role, "teams": user.teams,
                    "csrf_token": generate_csrf()})


@bp.post("/logout")
@staff_required
@doc(ok=(200, OkOut), fail=(400, 401), tags=["staff"])
def logout():
    log_out(get_session())
    return jsonify({"ok": True})


@bp.get("/complaints")
@staff_required
@doc(ok=(200, ListOut), fail=(400, 401), tags=["staff"])
def list_complaints():
    args = request.args
    status = args.get("status") or None
    if status and status not in (*STATUSES, "open"):
        raise ApiError(gettext("Invalid parameters"), [{"field": "status", "message": f"one of {', '.join(STATUSES)}, open"}])
    level_arg = args.get("level") or None
    if level_arg is not None and level_arg not in ("1", "2", "3"):
        raise ApiError(gettext("Invalid parameters"), [{"field": "level", "message": "1, 2 or 3"}])
    level = int(level_arg) if level_arg else None
    due = args.get("due") or None
    if due not in (None, "overdue", "soon"):
        raise ApiError(gettext("Invalid parameters"), [{"field": "due", "message": "overdue or soon"}])
    page, per_page = _positive(args, "page", 1), _positive(args, "per_page", PAGE_SIZE)
    result = desk().queue(actor(), status=status, level=level, team=args.get("team") or None, due=due,
                          page=page, per_page=per_page)
    now = utcnow()
    return jsonify({"complaints": [summary(desk().summary(actor(), c, now)) for c in result.items],
                    "total": result.total,
                    "page": result.page, "pages": result.pages, "per_page": result.per_page})


def _paging(args) -> tuple[int, int]:
    """?page= and ?per_page= of a list (the desk clamps per_page to MAX_PAGE_SIZE and a late page to the last)."""
    return _positive(args, "page", 1), _positive(args, "per_page", LIST_PAGE_SIZE)


def _page_json(result) -> dict:
    return {"total": result.total, "page": result.page, "pages": result.pages, "per_page": result.per_page}


def _positive(args, name: str, default: int) -> int:
    value = args.get(name) or ""
    if not value:
        return default
    if not value.isdigit() or len(value) > 6 or int(value) < 1:
        raise ApiError(gettext("Invalid parameters"), [{"field": name, "message": "a whole number from 1"}])
    return int(value)


@bp.get("/complaints/<number>")
@staff_required
@doc(ok=(200, OkOut), fail=(401, 404), tags=["staff"])
def get_complaint(number: str):
    who = actor()
    return jsonify(detail(desk().view(who, desk().find(who, number))))


class ActionIn(_In):
    status: str | None = None
    note: str | None = Field(default=None, max_length=2000)
    team: str | None = None
    handler: str | None = None
    level: int | None = None
    responsibility: str | None = None
    text: str | None = Field(default=None, max_length=5000)
    override_reason: str | None = Field(default=None, max_length=500)
    basis: str | None = Field(default=None, max_length=5000)
    result: str | None = Field(default=None, max_length=5000)
    followup: str | None = Field(default=None, max_length=5000)
    solutions: list[str] | str | None = None
    promise_date: str | None = Field(default=None, max_length=10)
    promise_text: str | None = Field(default=None, max_length=200)
    method: str | None = Field(default=None, max_length=20)
    score: int | None = None
    outcome: str | None = Field(default=None, max_length=20)
    arbitrator: str | None = Field(default=None, max_length=200)
    arbitration_result: str | None = Field(default=None, max_length=5000)
    step: str | None = Field(default=None, max_length=40)
    due_date: str | None = Field(default=None, max_length=10)
    department: str | None = Field(default=None, max_length=40)
    role: str | None = Field(default=None, max_length=100)


@staff_required
@doc(json=ActionIn, ok=(200, OkOut), fail=(400, 401, 404, 409), tags=["staff"])
def act(number: str, action: str):
    """One staff action of the desk's table (desk.ACTIONS); the workspace's forms run the same ones."""
    data = parse(ActionIn, request.get_json(silent=True) or {})
    who = actor()
    c = desk().act(who, number, action, data.model_dump(exclude_none=True))
    return jsonify(detail(desk().view(who, c)))


for _name in ACTIONS:  # one URL per action, so the OpenAPI document lists each
    bp.add_url_rule(f"/complaints/<number>/{_name}", endpoint=f"act_{_name.replace('-', '_')}", view_func=act,
                    methods=["POST"], defaults={"action": _name})


@bp.get("/complaints/<number>/attachments")
@staff_required
@doc(ok=(200, OkOut), fail=(401, 404), tags=["staff"])
def list_attachments(number: str):
    who = actor()
    c = desk().find(who, number)
    return jsonify({"attachments": [attachment_json(c.number, a) for a in desk().attachments(who, c)]})


@bp.post("/complaints/<number>/attachments")
@accepts_files
@staff_required
@doc(ok=(201, OkOut), fail=(400, 401, 404, 409, 413), tags=["staff"])
def attach(number: str):
    """Interview notes, documents, photos (multipart, field `file`, repeatable): internal to staff."""
    who = actor()
    c = desk().find(who, number)
    added = desk().attach(who, c, uploads())
    return jsonify({**detail(desk().view(who, c)), "added": [attachment_json(c.number, a) for a in added]}), 201


@bp.get("/complaints/<number>/attachments/<int:attachment_id>")
@staff_required
@doc(fail=(401, 404), tags=["staff"])
def attachment(number: str, attachment_id: int):
    who = actor()
    return send_attachment(*desk().attachment_file(who, desk().find(who, number), attachment_id))


class OfflineComplaintIn(ComplaintIn):
    """Staff record hotline, reception-desk and e-mail complaints on the complainant's behalf."""


@bp.post("/complaints")
@staff_required
@doc(json=OfflineComplaintIn, ok=(201, ReceiptOut), fail=(400, 401), tags=["staff"])
def record_offline():
    data = parse(OfflineComplaintIn, request.get_json(silent=True), **desk().complaint_rules())
    done = desk().register(data, entered_by=actor().user)
    return jsonify(receipt(done.complaint, done.code)), 201


@bp.get("/alerts")
@staff_required
@doc(ok=(200, AlertsOut), fail=(401,), tags=["staff"])
def list_alerts():
    """Alerts newest first, with the complaints of each I may see (none: not mine, not listed); page, per_page."""
    result = desk().alerts(actor(), *_paging(request.args))
    return jsonify({**_page_json(result), "alerts": [{
        "id": v.alert.id, "kind": v.alert.kind, "category": v.alert.category, "message": v.alert.message,
        "created_at": iso(desk().local(v.alert.created_at)), "complaints": [c.number for c in v.complaints],
        "acknowledged_at": iso(desk().local(v.alert.acknowledged_at)),
        "acknowledged_by": v.alert.acknowledged_by, "acknowledged_note": v.alert.acknowledged_note}
        for v in result.items]})


class AcknowledgeIn(_In):
    note: str = Field(min_length=1, max_length=2000)


@bp.post("/alerts/<int:alert_id>/acknowledge")
@staff_required
@doc(json=AcknowledgeIn, ok=(200, OkOut), fail=(400, 401, 404, 409), tags=["staff"])
def acknowledge_alert(alert_id: int):
    """Someone has taken the alert in hand: who, when and what they are doing about it."""
    data = parse(AcknowledgeIn, request.get_json(silent=True))
    alert = desk().acknowledge_alert(actor(), alert_id, data.note)
    return jsonify({"ok": True, "id": alert.id, "acknowledged_by": alert.acknowledged_by,
                    "acknowledged_at": iso(desk().local(alert.acknowledged_at)),
                    "acknowledged_note": alert.acknowledged_note})


@bp.get("/tasks")
@staff_required
@doc(ok=(200, OkOut), fail=(401,), tags=["staff"])
def tasks():
    """Open tasks for my teams (admins: all), soonest due first, with the complaint's number; page and per_page."""
    args = request.args
    result = desk().tasks(actor(), page=_positive(args, "page", 1), per_page=_positive(args, "per_page", PAGE_SIZE))
    return jsonify({"tasks": [dict(task_json(t), complaint=c.number) for t, c in result.items], "total": result.total,
                    "page": result.page, "pages": result.pages, "per_page": result.per_page})


class TaskDoneIn(_In):
    note: str | None = Field(default=None, max_length=2000)


@bp.post("/tasks/<int:task_id>/done")
@staff_required
@doc(json=TaskDoneIn, ok=(200, OkOut), fail=(400, 401, 404, 409), tags=["staff"])
def task_done(task_id: int):
    data = parse(TaskDoneIn, request.get_json(silent=True) or {})
    return jsonify(task_json(desk().finish_task(actor(), task_id, data.note)))


# -- Corrective and preventive actions (CAPA) --------------------------------------------------------------

def capa_json(v) -> dict:
    a = v.action
    return {"id": a.id, "what": a.what, "owner_team": a.owner_team, "due_at": iso(desk().local(a.due_at)),
            "status": a.status, "overdue": v.overdue(utcnow()), "cluster": a.cluster, "complaints": v.complaints,
            "evidence": a.evidence, "created_by": a.created_by, "done_at": iso(desk().local(a.done_at)),
            "done_by": a.done_by}


@bp.get("/capa")
@staff_required
@doc(ok=(200, OkOut), fail=(401,), tags=["staff"])
def capa():
    """Corrective actions of my teams (admins: all), soonest due first; `all=1` includes the done ones."""
    page, per_page = _paging(request.args)
    result = desk().capa(actor(), open_only=request.args.get("all") != "1", page=page, per_page=per_page)
    return jsonify({**_page_json(result), "capa": [capa_json(v) for v in result.items]})


class CapaIn(_In):
    what: str = Field(max_length=2000)
    owner_team: str = Field(max_length=40)
    due: str = Field(max_length=10, description="YYYY-MM-DD")
    complaints: list[str] = Field(default_factory=list, max_length=200)
    cluster: str | None = Field(default=None, max_length=200)


@bp.post("/capa")
@staff_required
@doc(json=CapaIn, ok=(201, OkOut), fail=(400, 401, 403), tags=["staff"])
def create_capa():
    """Decide a corrective action on complaints I can see or on a recurring problem (admins, relations,
    supervisors, team leads)."""
    data = parse(CapaIn, request.get_json(silent=True) or {})
    v = desk().create_capa(actor(), data.what, data.owner_team, data.due, data.complaints, data.cluster)
    return jsonify(capa_json(v)), 201


class CapaDoneIn(_In):
    evidence: str = Field(max_length=2000)


@bp.post("/capa/<int:capa_id>/done")
@staff_required
@doc(json=CapaDoneIn, ok=(200, OkOut), fail=(400, 401, 404, 409), tags=["staff"])
def capa_done(capa_id: int):
    """The owner team marks an action done, with the evidence of completion."""
    data = parse(CapaDoneIn, request.get_json(silent=True) or {})
    return jsonify(capa_json(desk().finish_capa(actor(), capa_id, data.evidence)))


# -- Publishing and the holiday calendar (admins) -----------------------------------------------------------

def publication_json(p) -> dict:
    return {"id": p.id, "article_id": p.article_id, "status": p.status, "requested_by": p.requested_by,
            "approved_by": p.approved_by, "created_at": iso(desk().local(p.created_at)),
            "started_at": iso(desk().local(p.started_at)), "finished_at": iso(desk().local(p.finished_at)),
            "message": p.message}


def article_json(number: str) -> dict:
    """The complaint's article as saved (or as the fresh redacted draft), and where its approval stands."""
    who = actor()
    _c, draft, fresh = desk().article(who, number)
    pub = desk().publication(who, draft.id)
    return {"id": draft.id, "title": draft.title, "category": draft.category, "language": str(draft.language),
            "tags": draft.tags, "questions": draft.questions, "body": draft.body,
            "resolved": draft.resolved.isoformat(), "redacted": fresh.found,
            "placeholders_left": placeholders_left(draft), "published": desk().is_published(draft.id),
            "publication": publication_json(pub) if pub is not None else None}


class ArticleIn(_In):
    """Fields left out keep the saved draft's (or the fresh redacted draft's) value."""

    title: str | None = Field(default=None, max_length=200)
    tags: list[str] | None = Field(default=None, max_length=20)
    questions: list[str] | None = Field(default=None, max_length=50)
    body: str | None = Field(default=None, max_length=50_000)
    action: Literal["save", "approve"] = "save"


@bp.get("/complaints/<number>/article")
@staff_required
@doc(ok=(200, OkOut), fail=(401, 404, 409), tags=["staff"])
def get_article(number: str):
    """A resolved complaint as a knowledge-base article: the redacted draft (what redaction removed, and the
    placeholders still in the text) and its approval and build."""
    return jsonify(article_json(number))


@bp.post("/complaints/<number>/article")
@staff_required
@doc(json=ArticleIn, ok=(200, OkOut), fail=(400, 401, 404, 409), tags=["staff"])
def save_article(number: str):
    """Save the (edited) draft, or approve it: an admin's approval publishes (the worker rebuilds the site);
    a handler's waits for an admin's when publishing.second_approval is on. Text is redacted again on save."""
    data = parse(ArticleIn, request.get_json(silent=True) or {})

    def edit(d) -> None:
        d.edit(title=data.title, tags=data.tags, questions=data.questions, body=data.body)

    desk().save_article(actor(), number, edit, data.action == "approve")
    return jsonify(article_json(number))


@bp.get("/publications")
@staff_required
@doc(ok=(200, OkOut), fail=(401, 403), tags=["staff"])
def publications():
    """Approved articles and their builds, newest first: awaiting (an admin's approval), queued, building,
    done or failed with the builder's message (admins)."""
    return jsonify({"publications": [publication_json(p) for p in desk().publications(actor())]})


def calendar_day_json(d) -> dict:
    return {"id": d.id, "day": d.day.isoformat(), "kind": d.kind, "name": d.name, "added_by": d.added_by,
            "added_at": iso(desk().local(d.added_at))}


@bp.get("/calendar")
@staff_required
@doc(ok=(200, OkOut), fail=(401, 403), tags=["staff"])
def calendar():
    """The holidays and make-up workdays admins entered, and the coming years no calendar covers yet."""
    who = actor()
    return jsonify({"days": [calendar_day_json(d) for d in desk().calendar_days(who)],
                    "years_without_calendar": desk().calendar_gap(who)})


class CalendarIn(_In):
    kind: str = Field(max_length=10, description="holiday, or workday (a make-up workday: a weekend day worked)")
    first: str = Field(max_length=10, description="YYYY-MM-DD")
    last: str | None = Field(default=None, max_length=10, description="YYYY-MM-DD, for a run of days")
    name: str | None = Field(default=None, max_length=200)


@bp.post("/calendar")
@staff_required
@doc(json=CalendarIn, ok=(201, OkOut), fail=(400, 401, 403), tags=["staff"])
def add_calendar_days():
    """Enter a holiday (or a run of them) or a make-up workday from the official notice (admins)."""
    data = parse(CalendarIn, request.get_json(silent=True) or {})
    rows = desk().add_calendar_days(actor(), data.kind, data.first, data.last, data.name)
    return jsonify({"days": [calendar_day_json(d) for d in rows]}), 201


@bp.post("/calendar/<int:day_id>/remove")
@staff_required
@doc(ok=(200, OkOut), fail=(401, 403, 404), tags=["staff"])
def remove_calendar_day(day_id: int):
    """Take a day out of the calendar (the row stays, marked removed, as the audit trail)."""
    return jsonify(calendar_day_json(desk().remove_calendar_day(actor(), day_id)))


# -- Search -------------------------------------------------------------------------------------------------

@bp.get("/search")
@staff_required
@doc(ok=(200, ListOut), fail=(400, 401), tags=["staff"])
def search():
    """The complaints this person may see, closed ones too: q (number or words), category, about (department
    complained about), status (or open), since and until (YYYY-MM-DD), page and per_page."""
    args = request.args
    result = desk().search(actor(), args.get("q"), category=args.get("category") or None,
                           about=args.get("about") or None, status=args.get("status") or None,
                           since=args.get("since") or None, until=args.get("until") or None,
                           page=_positive(args, "page", 1), per_page=_positive(args, "per_page", 50))
    now = utcnow()
    return jsonify({"complaints": [summary(desk().summary(actor(), c, now)) for c in result.items],
                    "total": result.total, "page": result.page, "pages": result.pages, "per_page": result.per_page})


# -- Staff accounts (admins) --------------------------------------------------------------------------------

def account(u: StaffUser) -> dict:
    """An account as admins see it: never the password hash."""
    return {"username": u.username, "name": u.display_name, "role": u.role, "teams": list(u.teams or []),
            "department": u.department, "email": u.email, "active": u.active,
            "created_at": iso(desk().local(u.created_at))}


@bp.get("/accounts")
@staff_required
@doc(ok=(200, AccountsOut), fail=(401, 403), tags=["staff"])
def list_accounts():
    return jsonify({"accounts": [account(u) for u in desk().staff_accounts(actor())]})


class NewAccountIn(_In):
    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)
    role: str = "handler"
    teams: list[str] = Field(default_factory=list, max_length=50)
    name: str | None = Field(default=None, max_length=100)
    department: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)


@bp.post("/accounts")
@staff_required
@doc(json=NewAccountIn, ok=(201, AccountOut), fail=(400, 401, 403, 409), tags=["staff"])
def create_account():
    data = parse(NewAccountIn, request.get_json(silent=True))
    user = desk().create_staff(actor(), data.username, data.password, data.role, data.teams, data.name,
                               data.department, data.email)
    return jsonify(account(user)), 201


class AccountChangeIn(_In):
    """Only the fields given change; "" clears the department or the e-mail."""

    active: bool | None = None
    role: str | None = Field(default=None, max_length=20)
    teams: list[str] | None = Field(default=None, max_length=50)
    department: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)


@bp.patch("/accounts/<username>")
@staff_required
@doc(json=AccountChangeIn, ok=(200, AccountOut), fail=(400, 401, 403, 404, 409), tags=["staff"])
def update_account(username: str):
    """Deactivate or reactivate (active), change the role, teams, department or e-mail; each change audited."""
    data = parse(AccountChangeIn, request.get_json(silent=True))
    user = desk().update_staff(actor(), username, active=data.active, role=data.role, teams=data.teams,
                               department=data.department, email=data.email)
    return jsonify(account(user))


class PasswordIn(_In):
    password: str = Field(min_length=1, max_length=200)


@bp.post("/accounts/<username>/password")
@staff_required
@doc(json=PasswordIn, ok=(200, OkOut), fail=(400, 401, 403, 404), tags=["staff"])
def reset_password(username: str):
    """A new password; the account's sessions end."""
    data = parse(PasswordIn, request.get_json(silent=True))
    user = desk().reset_password(actor(), username, data.password)
    return jsonify({"ok": True, "username": user.username})


@bp.get("/accounts/audit")
@staff_required
@doc(ok=(200, AuditOut), fail=(400, 401, 403, 404), tags=["staff"])
def account_audit():
    """Changes to staff accounts, newest first (user= one account's), by pages (page, per_page; limit= as per_page)."""
    args = request.args
    page, per_page = _paging(args)
    result = desk().staff_audit(actor(), args.get("user") or None, page, _positive(args, "limit", per_page))
    return jsonify({**_page_json(result),
                    "audit": [{"at": iso(a.at), "actor": a.actor, "username": a.username, "action": a.action,
                               "from": a.from_value, "to": a.to_value} for a in result.items]})


@bp.get("/outbox")
@staff_required
@doc(ok=(200, OkOut), fail=(400, 401, 403), tags=["staff"])
def outbox():
    """Admins: messages per status and the dead letters, newest first, with their attempts; page, per_page."""
    counts, dead = desk().outbox(actor(), *_paging(request.args))
    return jsonify({**_page_json(dead), "counts": counts, "dead": [
        {"id": m.id, "kind": m.kind, "channel": m.channel, "attempts": m.attempts, "last_error": m.last_error,
         "number": (m.context or {}).get("number"), "created_at": iso(desk().local(m.created_at)),
         "tries": [{"at": iso(desk().local(a.at)), "error": a.error} for a in tries]} for m, tries in dead.items]})


# -- Learning: link a complaint to the article that answered it; HR approves the phrasings ------------------

def phrasing_json(p) -> dict:
    return {"id": p.id, "article_id": p.article_id, "text": p.text, "status": p.status, "conflicts": p.conflicts,
            "proposed_by": p.proposed_by, "created_at": iso(desk().local(p.created_at)),
            "decided_by": p.decided_by, "decided_at": iso(desk().local(p.decided_at))}


@bp.get("/complaints/<number>/link")
@staff_required
@doc(ok=(200, OkOut), fail=(401, 404, 503), tags=["staff"])
def link_candidates(number: str):
    """The articles the suggest search finds for the complaint's text, with why each came up."""
    hits = desk().link_candidates(actor(), number, searcher())
    return jsonify({"candidates": [{"id": h.id, "title": h.title, "url": h.url, "score": h.score, "why": h.why}
                                   for h in hits]})


class LinkIn(_In):
    article_id: str = Field(min_length=1, max_length=100)


@bp.post("/complaints/<number>/link")
@staff_required
@doc(json=LinkIn, ok=(201, OkOut), fail=(400, 401, 404, 409, 503), tags=["staff"])
def link_article(number: str):
    """This existing article answered the complaint: its redacted wording is proposed as a phrasing."""
    data = parse(LinkIn, request.get_json(silent=True))
    return jsonify(phrasing_json(desk().link_article(actor(), number, data.article_id, searcher()))), 201


@bp.get("/phrasings")
@staff_required
@doc(ok=(200, OkOut), fail=(401, 403), tags=["staff"])
def list_phrasings():
    """Admins (HR): proposed phrasings (status=approved, rejected or withdrawn for the others), newest first.

    withdrawn: proposed by "this solved it" clicks that all turned out to be false deflections.
    """
    status = request.args.get("status", "proposed")
    if status not in ("proposed", "approved", "rejected", "withdrawn"):
        raise ApiError(gettext("Invalid parameters"), [{"field": "status", "message":
                       "proposed, approved, rejected or withdrawn"}])
    result = desk().phrasings(actor(), status, *_paging(request.args))
    return jsonify({**_page_json(result), "phrasings": [phrasing_json(p) for p in result.items]})


class DecisionIn(_In):
    decision: Literal["approve", "reject"]
    text: str | None = Field(default=None, max_length=200)
    despite_conflicts: bool = False


@bp.post("/phrasings/<int:phrasing_id>")
@staff_required
@doc(json=DecisionIn, ok=(200, OkOut), fail=(400, 401, 403, 404, 409, 503), tags=["staff"])
def decide_phrasing(phrasing_id: int):
    """Approve (written into the article's file for the next build), edit and approve, or reject."""
    data = parse(DecisionIn, request.get_json(silent=True))
    p = desk().decide_phrasing(actor(), phrasing_id, data.decision == "approve", searcher(), data.text,
                               data.despite_conflicts)
    return jsonify(phrasing_json(p))


@bp.get("/articles/<article_id>/signals")
@staff_required
@doc(ok=(200, OkOut), fail=(401, 403), tags=["staff"])
def article_signals(article_id: str):
    """Admins (HR): the phrasings that led to the article and those that led past it to a complaint."""
    out = desk().article_signals(actor(), article_id[:100])
    for side in (out["to_it"]["solved"], out["to_it"]["linked"], out["past_it"]):
        for row in side:
            row["at"] = iso(desk().local(row["at"]))
    return jsonify(out)
