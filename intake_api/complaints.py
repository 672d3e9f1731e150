"""Complaints from employees: submit one, follow it by tracking code, rate the result."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from flask import Blueprint, current_app, jsonify, request
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import alerts, process, tracking
from .db import get_session
from .errors import ApiError, NotFound
from .limits import limit
from .openapi import MetaOut, OkOut, ReceiptOut, StatusOut, doc
from .models import Complaint, IdempotencyKey, Message
from .schemas import CHANNEL_LABELS, ComplaintIn, _In, parse
from .sla import Clock
from .workflow import LABELS, LEVELS, TransitionError

bp = Blueprint("complaints", __name__, url_prefix="/api/v1")


def clock() -> Clock:
    return current_app.extensions["kb_clock"]


def local(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(clock().zone).strftime("%Y-%m-%d %H:%M")


def acknowledgement(c: Complaint) -> str:
    """The automatic reply: number, level and the dates we promise."""
    zh_level, en_level = LEVELS[c.level]
    assess, first = local(c.assessment_due_at), local(c.first_response_due_at)
    zh = f"您的投诉已受理，编号 {c.number}，级别：{zh_level}。"
    en = f"Your complaint {c.number} was received (level: {en_level})."
    if c.safety_flag:
        zh += "这是紧急投诉，已立即上报。如有危险，请先撤离并拨打应急电话。"
        en += " This is urgent and was escalated at once: if you are in danger, leave and call for help."
    contact = emergency_contact(c)
    if contact:
        zh_contact, _, en_contact = contact.partition(" · ")
        zh += zh_contact
        en += " " + (en_contact or zh_contact)
    zh += f"我们将在 {assess} 前完成初步评估，{first} 前首次答复"
    en += f" It will be assessed by {assess} and get a first response by {first}"
    if c.resolution_due_at:
        zh += f"，{local(c.resolution_due_at)} 前处理完毕"
        en += f", and be handled by {local(c.resolution_due_at)}"
    zh += "。调查结束后 7 个工作日内反馈结果。请保存好查询码，凭它查看进度。"
    en += (". The result follows within 7 working days after the investigation ends."
           " Keep your tracking code to check progress.")
    return f"{zh} / {en}"


def emergency_contact(c: Complaint) -> str | None:
    """The emergency contact for a complaint about danger (recognised, or filed under a danger category)."""
    from .sensitive import recogniser
    kb = current_app.config["KB"]
    rec = recogniser(kb)
    kind = c.recognised_kind
    if rec is not None and kind in rec.rules.kinds:
        show = rec.rules.kinds[kind].emergency_contact
    else:
        show = c.category in kb.process.urgent_categories
    return kb.process.sensitive.emergency_contact if show else None


@bp.get("/meta")
@doc(ok=(200, MetaOut), fail=(), tags=["public"])
def meta():
    kb = current_app.config["KB"]
    contact = kb.process.sensitive.emergency_contact
    from .sensitive import recogniser
    rec = recogniser(kb)

    def category(c) -> dict:
        out = c.model_dump()
        kind = kb.process.category_kinds.get(c.id)
        rule = rec.rules.kinds.get(kind) if rec is not None and kind else None
        danger = rule.emergency_contact if rule is not None else c.id in kb.process.urgent_categories
        out["emergency_contact"] = contact if danger else None
        return out

    return jsonify({
        "categories": [category(c) for c in kb.categories],
        "channels": [{"id": k, "label": v} for k, v in CHANNEL_LABELS.items()],
        "levels": [{"id": k, "label": " · ".join(v)} for k, v in LEVELS.items()],
    })


class KeyReused(ApiError):
    status = 409


def body_digest(body) -> str:
    """The submission's fingerprint: the same JSON, whatever its key order or spacing, gives the same digest."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def register_complaint(data, entered_by=None, idempotency_key: str | None = None,
                       digest: str | None = None) -> tuple[Complaint, str, bool]:
    """Store and commit (exactly once per idempotency key), then raise alerts.

    Returns (complaint, tracking code, replayed). The acknowledgement is sent
    only after the commit, and never waits on an alert.

    A key is not looked up first: nearly every key is new, and that query
    was a fifth of a submission's database work. The key's primary key
    catches a retry at commit instead, which is rolled back (the complaint
    with it) and answered with the first submission's receipt, whether that
    committed long ago or a moment ago in another worker. Only the same
    submission (`digest` of its body) is replayed: a different one sent
    with a used key gets KeyReused (409) and learns nothing of the first.
    """
    kb = current_app.config["KB"]
    session = get_session()
    key_hash = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest() if idempotency_key else None
    complaint, code = process.register(session, kb, clock(), data, entered_by=entered_by)
    if key_hash:
        session.add(IdempotencyKey(key_hash=key_hash, complaint_id=complaint.id, code=code, body_hash=digest))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        earlier = _replay(session, key_hash, digest) if key_hash else None
        if earlier is None:
            raise
        return (*earlier, True)
    try:
        alerts.check_new_complaint(session, kb, complaint, current_app.extensions["kb_term_weights"])
        session.commit()
    except Exception:  # an alert failure must not undo an acknowledged complaint
        session.rollback()
        current_app.logger.exception("alert check failed for %s", complaint.number)
    return complaint, code, False


def _replay(session, key_hash: str, digest: str | None) -> tuple[Complaint, str] | None:
    """The complaint and code a key was first answered with, while the key is kept (privacy.py: a day)."""
    row = session.get(IdempotencyKey, key_hash)
    if row is None:
        return None
    if row.body_hash is not None and row.body_hash != digest:  # None: a key stored before digests (a day at most)
        raise KeyReused("这个 Idempotency-Key 已用于另一份投诉：新的投诉请换一个新的 key · "
                        "This Idempotency-Key was used for a different complaint: send a new key with a new complaint",
                        [{"field": "Idempotency-Key", "message": "already used for a different body"}])
    return session.get(Complaint, row.complaint_id), row.code


def receipt(c: Complaint, code: str) -> dict:
    return {
        "ok": True,
        "tracking_code": code,
        "number": c.number,
        "status": c.status,
        "level": c.level,
        "team": c.team,
        "received_at": c.received_at.isoformat(),
        "assessment_due_at": c.assessment_due_at.isoformat(),
        "first_response_due_at": c.first_response_due_at.isoformat(),
        "resolution_due_at": c.resolution_due_at.isoformat() if c.resolution_due_at else None,
        "acknowledgement": acknowledgement(c),
        "emergency_contact": emergency_contact(c),
        # Harassment and the like are handled by employee relations: say so, not which words matched.
        "handled_by_person": bool(c.recognised_kind),
    }


@bp.post("/complaints")
@limit("submit")
@doc(json=ComplaintIn, ok=(201, ReceiptOut), fail=(400, 409, 413, 429), tags=["public"])
def submit():
    kb = current_app.config["KB"]
    data = parse(ComplaintIn, request.get_json(silent=True), categories=kb.category_ids, zone=clock().zone)
    if data.channel != "online_form" and data.channel != "anonymous_platform":
        raise ApiError("参数有误 · Invalid parameters", [{"field": "channel", "message":
                       "线下渠道的投诉由工作人员在工作台录入 · Offline complaints are recorded by staff in the workspace"}])
    key = request.headers.get("Idempotency-Key", "").strip() or None
    if key is not None and len(key) > 200:
        raise ApiError("参数有误 · Invalid parameters", [{"field": "Idempotency-Key", "message": "at most 200 characters"}])
    complaint, code, replayed = register_complaint(data, idempotency_key=key,
                                                   digest=body_digest(request.get_json(silent=True)) if key else None)
    response = jsonify(receipt(complaint, code))
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response, 201


def by_code(code: str) -> Complaint:
    if tracking.canonical(code) is None:
        raise NotFound("没有找到这个查询码 · No complaint with this tracking code")
    c = get_session().scalar(select(Complaint).where(Complaint.tracking_hash == tracking.code_hash(code)))
    if c is None:
        raise NotFound("没有找到这个查询码 · No complaint with this tracking code")
    return c


def thread(c: Complaint) -> list[dict]:
    """The follow-up thread as the complainant sees it: no staff names."""
    msgs = get_session().scalars(select(Message).where(Message.complaint_id == c.id).order_by(Message.id)).all()
    return [{"author": m.author, "body": m.body, "at": local(m.at)} for m in msgs]


def public_view(c: Complaint) -> dict:
    """What the complainant may see: never the identity fields."""
    return {
        "number": c.number,
        "status": c.status,
        "status_label": " · ".join(LABELS[c.status]),
        "category": c.category,
        "level": c.level,
        "level_label": " · ".join(LEVELS[c.level]),
        "received_at": local(c.received_at),
        "assessment_due_at": local(c.assessment_due_at),
        "first_response_due_at": local(c.first_response_due_at),
        "resolution_due_at": local(c.resolution_due_at),
        "result_due_at": local(c.result_due_at),
        "resolved_at": local(c.resolved_at),
        "updated_at": local(c.updated_at),
        "response": c.response,
        "can_rate": c.status == "resolved" or (c.status == "closed" and c.rating is None),
        "rating": c.rating,
        "can_reply": c.status != "closed" and c.purged_at is None,
        "messages": thread(c),
    }


@bp.get("/complaints/<code>")
@limit("lookup")
@doc(ok=(200, StatusOut), fail=(404, 429), tags=["public"])
def status(code: str):
    return jsonify(public_view(by_code(code)))


class MessageIn(_In):
    text: str = Field(min_length=1, max_length=process.MAX_MESSAGE)


@bp.post("/complaints/<code>/messages")
@limit("reply")
@doc(json=MessageIn, ok=(201, StatusOut), fail=(400, 404, 409, 429), tags=["public"])
def reply(code: str):
    """The complainant answers a handler's question, identified only by the tracking code."""
    data = parse(MessageIn, request.get_json(silent=True))
    c = by_code(code)
    session = get_session()
    try:
        process.post_message(session, c, data.text)
    except TransitionError as exc:
        raise ApiError(str(exc), status=409) from None
    session.commit()
    return jsonify(public_view(c)), 201


class RatingIn(_In):
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=1000)


@bp.post("/complaints/<code>/rating")
@limit("reply")
@doc(json=RatingIn, ok=(200, StatusOut), fail=(400, 404, 409, 429), tags=["public"])
def rate(code: str):
    data = parse(RatingIn, request.get_json(silent=True))
    c = by_code(code)
    session = get_session()
    try:
        process.rate(session, current_app.config["KB"], clock(), c, data.score, data.comment)
    except TransitionError as exc:
        raise ApiError(str(exc), status=409) from None
    session.commit()
    return jsonify(public_view(c))
