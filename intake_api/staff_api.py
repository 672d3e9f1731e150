"""JSON API for staff (login required, CSRF token in the X-CSRFToken header).

The workspace pages do the same through forms; both call process.py.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from pydantic import Field
from sqlalchemy import select

from . import process
from .auth import authenticate, can_see, identity_for, staff_required
from .complaints import clock, local, receipt, register_complaint
from .db import get_session
from .errors import ApiError, NotFound
from .login_guard import check_attempt, end_session, start_session
from .openapi import AlertsOut, ListOut, OkOut, ReceiptOut, doc
from .models import Alert, Complaint, ComplaintEvent, Message, StaffUser
from .queue import PAGE_SIZE, is_overdue, next_deadline, queue
from .schemas import ComplaintIn, _In, parse
from .workflow import LABELS, LEVELS, STATUSES, TransitionError

bp = Blueprint("staff_api", __name__, url_prefix="/api/v1/staff")


def visible_complaint(number: str) -> Complaint:
    """The complaint if this user may see it; otherwise 404 (not revealing that it exists)."""
    c = get_session().scalar(select(Complaint).where(Complaint.number == number))
    if c is None or not can_see(current_user, c):
        raise NotFound(f"没有这个投诉 · No complaint {number} that you can see")
    return c


def summary(c: Complaint, now=None) -> dict:
    nd = next_deadline(c)
    return {
        "number": c.number, "status": c.status, "status_label": " · ".join(LABELS[c.status]),
        "level": c.level, "level_label": " · ".join(LEVELS[c.level]), "category": c.category,
        "team": c.team, "handler": _username(c.handler_id), "channel": c.channel, "anonymous": c.anonymous,
        "safety_flag": c.safety_flag, "received_at": c.received_at.isoformat(),
        "recognised": {"kind": c.recognised_kind, "reason": c.recognised_reason} if c.recognised_kind else None,
        "temporary_measures": c.temporary_measures,
        "next_deadline": {"kind": nd.kind, "due_at": nd.due_at.isoformat()} if nd else None,
        "overdue": is_overdue(c, now) if now else is_overdue(c, process.utcnow()),
        "description": c.description[:200],
    }


def _username(user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = get_session().get(StaffUser, user_id)
    return user.username if user else None


def detail(c: Complaint) -> dict:
    events = get_session().scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id == c.id)
                                   .order_by(ComplaintEvent.id)).all()
    data = summary(c)
    data.update({
        "description": c.description, "request": c.request, "location": c.location,
        "occurred_at": local(c.occurred_at), "responsibility": c.responsibility, "response": c.response,
        "disclosure": c.disclosure,
        "identity": identity_for(current_user, c),
        "messages": thread(c),
        "shown_articles": c.shown_articles, "rating": c.rating, "rating_comment": c.rating_comment,
        "dates": {k: getattr(c, k).isoformat() if getattr(c, k) else None for k in (
            "assessment_due_at", "first_response_due_at", "resolution_due_at", "result_due_at", "assessed_at",
            "first_responded_at", "investigation_started_at", "investigation_ended_at", "resolved_at",
            "closed_at")},
        "history": [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "from": e.from_value,
                     "to": e.to_value, "note": e.note} for e in events],
    })
    return data


def thread(c: Complaint) -> list[dict]:
    msgs = get_session().scalars(select(Message).where(Message.complaint_id == c.id).order_by(Message.id)).all()
    return [{"author": m.author, "body": m.body, "at": m.at.isoformat()} for m in msgs]


class LoginIn(_In):
    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


@bp.post("/login")
@doc(json=LoginIn, ok=(200, OkOut), fail=(400, 401, 429), tags=["staff"])
def login():
    data = parse(LoginIn, request.get_json(silent=True))
    check_attempt(get_session(), data.username, request.remote_addr)
    user = authenticate(get_session(), data.username, data.password)
    if user is None:
        get_session().rollback()
        raise ApiError("用户名或密码错误 · Wrong username or password", status=401)
    get_session().commit()
    start_session(get_session(), user)
    login_user(user)
    return jsonify({"ok": True, "username": user.username, "role": user.role, "teams": user.teams,
                    "csrf_token": generate_csrf()})


@bp.post("/logout")
@staff_required
@doc(ok=(200, OkOut), fail=(400, 401), tags=["staff"])
def logout():
    end_session(get_session())
    logout_user()
    return jsonify({"ok": True})


@bp.get("/complaints")
@staff_required
@doc(ok=(200, ListOut), fail=(400, 401), tags=["staff"])
def list_complaints():
    args = request.args
    status = args.get("status") or None
    if status and status not in (*STATUSES, "open"):
        raise ApiError("参数有误 · Invalid parameters", [{"field": "status", "message": f"one of {', '.join(STATUSES)}, open"}])
    level = args.get("level") or None
    if level is not None and level not in ("1", "2", "3"):
        raise ApiError("参数有误 · Invalid parameters", [{"field": "level", "message": "1, 2 or 3"}])
    level = int(level) if level else None
    due = args.get("due") or None
    if due not in (None, "overdue", "soon"):
        raise ApiError("参数有误 · Invalid parameters", [{"field": "due", "message": "overdue or soon"}])
    page, per_page = _positive(args, "page", 1), _positive(args, "per_page", PAGE_SIZE)
    kb = current_app.config["KB"]
    result = queue(get_session(), current_user, status=status, level=level, team=args.get("team") or None,
                   due=due, due_soon_hours=kb.process.sla.due_soon_hours, page=page, per_page=per_page)
    return jsonify({"complaints": [summary(c) for c in result.items], "total": result.total,
                    "page": result.page, "pages": result.pages, "per_page": result.per_page})


def _positive(args, name: str, default: int) -> int:
    value = args.get(name) or ""
    if not value:
        return default
    if not value.isdigit() or len(value) > 6 or int(value) < 1:
        raise ApiError("参数有误 · Invalid parameters", [{"field": name, "message": "a whole number from 1"}])
    return int(value)


@bp.get("/complaints/<number>")
@staff_required
@doc(ok=(200, OkOut), fail=(401, 404), tags=["staff"])
def get_complaint(number: str):
    return jsonify(detail(visible_complaint(number)))


class ActionIn(_In):
    status: str | None = None
    note: str | None = Field(default=None, max_length=2000)
    team: str | None = None
    handler: str | None = None
    level: int | None = None
    responsibility: str | None = None
    text: str | None = Field(default=None, max_length=5000)


def _act(number: str, action):
    c = visible_complaint(number)
    data = parse(ActionIn, request.get_json(silent=True) or {})
    session = get_session()
    try:
        action(session, c, data, process.actor_of(current_user))
    except TransitionError as exc:
        session.rollback()
        raise ApiError(str(exc), status=409) from None
    session.commit()
    return jsonify(detail(c))


@bp.post("/complaints/<number>/status")
@staff_required
@doc(json=ActionIn, ok=(200, OkOut), fail=(400, 401, 404, 409), tags=["staff"])
def change_status(number: str):
    return _act(number, lambda s, c, d, who: process.change_status(s, clock(), c, d.status or "", who, note=d.note))


@bp.post("/complaints/<number>/assign")
@staff_required
@doc(json=ActionIn, ok=(200, OkOut), fail=(400, 401, 404, 409), tags=["staff"])
def assign(number: str):
    def run(s, c, d, who):
        handler = None
        if d.handler:
            handler = s.scalar(select(StaffUser).where(StaffUser.username == d.handler))
            if handler is None:
                raise TransitionError(f"没有这个员工账号 · No staff account '{d.handler}'")
        process.assign(s, current_app.config["KB"], c, who, team=d.team, handler=handler)
    return _act(number, run)


@bp.post("/complaints/<number>/level")
@staff_required
@doc(json=ActionIn, ok=(200, OkOut), fail=(400, 401, 404, 409), tags=["staff"])
def set_level(number: str):
    return _act(number, lambda s, c, d, who: process.set_level(s, clock(), c, d.level or 0, who, note=d.note))


@bp.post("/complaints/<number>/responsibility")
@staff_required
@doc(json=ActionIn, ok=(200, OkOut), fail=(400, 401, 404, 409), tags=["staff"])
def set_responsibility(number: str):
    return _act(number, lambda s, c, d, who: process.set_responsibility(s, c, d.responsibility or "", who))


@bp.post("/complaints/<number>/response")
@staff_required
@doc(json=ActionIn, ok=(200, OkOut), fail=(400, 401, 404, 409), tags=["staff"])
def respond(number: str):
    return _act(number, lambda s, c, d, who: process.respond(s, c, d.text or "", who))


@bp.post("/complaints/<number>/investigation-ended")
@staff_required
@doc(json=ActionIn, ok=(200, OkOut), fail=(400, 401, 404, 409), tags=["staff"])
def end_investigation(number: str):
    return _act(number, lambda s, c, d, who: process.end_investigation(s, clock(), c, who))


@bp.post("/complaints/<number>/temporary-measures")
@staff_required
@doc(json=ActionIn, ok=(200, OkOut), fail=(400, 401, 404, 409), tags=["staff"])
def temporary_measures(number: str):
    return _act(number, lambda s, c, d, who: process.set_temporary_measures(s, c, d.text or "", who))


@bp.post("/complaints/<number>/messages")
@staff_required
@doc(json=ActionIn, ok=(200, OkOut), fail=(400, 401, 404, 409), tags=["staff"])
def ask(number: str):
    return _act(number, lambda s, c, d, who: process.post_message(s, c, d.text or "", staff=current_user))


class OfflineComplaintIn(ComplaintIn):
    """Staff record hotline, reception-desk and e-mail complaints on the complainant's behalf."""


@bp.post("/complaints")
@staff_required
@doc(json=OfflineComplaintIn, ok=(201, ReceiptOut), fail=(400, 401), tags=["staff"])
def record_offline():
    kb = current_app.config["KB"]
    data = parse(OfflineComplaintIn, request.get_json(silent=True), categories=kb.category_ids, zone=clock().zone)
    complaint, code, _ = register_complaint(data, entered_by=current_user)
    return jsonify(receipt(complaint, code)), 201


@bp.get("/alerts")
@staff_required
@doc(ok=(200, AlertsOut), fail=(401,), tags=["staff"])
def list_alerts():
    rows = get_session().scalars(select(Alert).order_by(Alert.id.desc()).limit(200)).all()
    out = []
    for a in rows:
        complaints = get_session().scalars(select(Complaint).where(Complaint.id.in_(a.complaint_ids))).all()
        shown = [c.number for c in complaints if can_see(current_user, c)]
        if shown:
            out.append({"id": a.id, "kind": a.kind, "category": a.category, "message": a.message,
                        "created_at": a.created_at.isoformat(), "complaints": shown,
                        "acknowledged_at": a.acknowledged_at.isoformat() if a.acknowledged_at else None,
                        "acknowledged_by": a.acknowledged_by, "acknowledged_note": a.acknowledged_note})
    return jsonify({"alerts": out})


class AcknowledgeIn(_In):
    note: str = Field(min_length=1, max_length=2000)


@bp.post("/alerts/<int:alert_id>/acknowledge")
@staff_required
@doc(json=AcknowledgeIn, ok=(200, OkOut), fail=(400, 401, 404, 409), tags=["staff"])
def acknowledge_alert(alert_id: int):
    """Someone has taken the alert in hand: who, when and what they are doing about it."""
    from . import alerts
    data = parse(AcknowledgeIn, request.get_json(silent=True))
    session = get_session()
    alert = session.get(Alert, alert_id)
    if alert is None or not any(can_see(current_user, c) for c in session.scalars(
            select(Complaint).where(Complaint.id.in_(alert.complaint_ids)))):
        raise NotFound(f"没有这个预警 · No alert {alert_id} that you can see")
    try:
        alerts.acknowledge(session, alert, current_user.username, data.note)
    except ValueError as exc:
        raise ApiError(str(exc), status=409) from None
    session.commit()
    return jsonify({"ok": True, "id": alert.id, "acknowledged_by": alert.acknowledged_by,
                    "acknowledged_at": alert.acknowledged_at.isoformat(), "acknowledged_note": alert.acknowledged_note})
