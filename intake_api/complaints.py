"""Complaints from employees: submit one, follow it by tracking code, rate the result."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Literal

from flask import Blueprint, current_app, jsonify, request
from pydantic import Field

from . import attachments, process
from .desk import COMPLAINANT, AttachmentView
from .errors import ApiError
from .i18n import gettext, pick
from .limits import limit
from .models import Complaint
from .openapi import MetaOut, ReceiptOut, StatusOut, doc
from .queue import pending_deadlines
from .schemas import CHANNEL_LABELS, ComplaintIn, _In, parse
from .web import accepts_files, desk, send_attachment, uploads
from .workflow import LEVEL_NAMES, label

bp = Blueprint("complaints", __name__, url_prefix="/api/v1")


def local(moment: dt.datetime | None) -> str | None:
    """A moment as the complainant reads it: minutes, in the configured time zone."""
    when = desk().local(moment)
    return when.strftime("%Y-%m-%d %H:%M") if when else None


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
        out["label"] = pick((c.zh, c.en))  # the requester's language (Accept-Language)
        return out

    return jsonify({
        "categories": [category(c) for c in kb.categories],
        "departments": [{"id": d.id, "zh": d.zh, "en": d.en, "label": pick((d.zh, d.en))}
                        for d in kb.process.departments],
        "channels": [{"id": k, "label": gettext(v)} for k, v in CHANNEL_LABELS.items()],
        "levels": [{"id": k, "label": gettext(v)} for k, v in LEVEL_NAMES.items()],
        # What the form's file input offers; the server still judges every file by its content.
        "attachments": {"max_bytes": kb.attachments.max_bytes, "max_files": kb.attachments.max_files,
                        "accept": attachments.ACCEPT, "types": attachments.ALLOWED_TEXT},
    })


def body_digest(body) -> str:
    """The submission's fingerprint: the same JSON, whatever its key order or spacing, gives the same digest."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def receipt(c: Complaint, code: str) -> dict:
    """What the complainant gets back on submission (and staff when they record an offline complaint)."""
    return {
        "ok": True,
        "tracking_code": code,
        "number": c.number,
        "status": c.status,
        "level": c.level,
        "team": c.team,
        "received_at": c.received_at.isoformat(),
        "assessment_due_at": c.assessment_due_at.isoformat(),
        "first_response_due_at": c.first_response_due_at.isoformat() if c.first_response_due_at else None,
        "resolution_due_at": c.resolution_due_at.isoformat() if c.resolution_due_at else None,
        "acknowledgement": desk().acknowledgement(c),
        "emergency_contact": desk().emergency_contact(c),
        # Harassment and the like are handled by employee relations: say so, not which words matched.
        "handled_by_person": bool(c.recognised_kind),
    }


@bp.post("/complaints")
@limit("submit")
@doc(json=ComplaintIn, ok=(201, ReceiptOut), fail=(400, 409, 413, 429), tags=["public"])
def submit():
    data = parse(ComplaintIn, request.get_json(silent=True), **desk().complaint_rules())
    if data.channel != "online_form" and data.channel != "anonymous_platform":
        raise ApiError(gettext("Invalid parameters"), [{"field": "channel", "message":
                       gettext("Offline complaints are recorded by staff in the workspace")}])
    key = request.headers.get("Idempotency-Key", "").strip() or None
    if key is not None and len(key) > 200:
        raise ApiError(gettext("Invalid parameters"), [{"field": "Idempotency-Key", "message": "at most 200 characters"}])
    done = desk().register(data, idempotency_key=key,
                           digest=body_digest(request.get_json(silent=True)) if key else None)
    response = jsonify(receipt(done.complaint, done.code))
    if done.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response, 201


def submitted(c: Complaint) -> dict:
    """What the complainant wrote, as they wrote it (the page inserts it as text, never as HTML)."""
    kb = desk().kb
    category = next((x for x in kb.categories if x.id == c.category), None)
    department = next((d for d in kb.process.departments if d.id == c.about_department), None)
    return {
        "category": pick((category.zh, category.en)) if category else c.category,
        "description": c.description,
        "request": c.request or None,
        "occurred": desk().occurred(c),  # a date alone stays a date
        "location": c.location or None,
        "about_department": pick((department.zh, department.en)) if department else None,
        "about_role": c.about_role,
    }


def open_question(messages: list) -> dict | None:
    """The handler's latest message when the complainant has not written since: what the page shows first."""
    if messages and messages[-1].author == "staff":
        return {"body": messages[-1].body, "at": local(messages[-1].at)}
    return None


def public_view(c: Complaint) -> dict:
    """What the complainant may see: never the identity fields.

    Due dates are the limits still running (queue.pending_deadlines): a limit met, or one of a round closed
    by a reopening, is not shown as if it were still due.
    """
    pending = {d.kind for d in pending_deadlines(c)}
    thread = desk().thread(c)

    def due(kind: str, moment: dt.datetime | None) -> str | None:
        return local(moment) if kind in pending else None

    return {
        "number": c.number,
        "status": c.status,
        "status_label": label(c.status),
        "category": c.category,
        "level": c.level,
        "level_label": gettext(LEVEL_NAMES[c.level]),
        "received_at": local(c.received_at),
        "assessment_due_at": due("assessment", c.assessment_due_at),
        "first_response_due_at": due("first_response", c.first_response_due_at),
        "resolution_due_at": due("resolution", c.resolution_due_at),
        "result_due_at": due("result", c.result_due_at),
        "submitted": submitted(c),
        "resolved_at": local(c.resolved_at),
        "updated_at": local(c.updated_at),
        "response": c.response,
        "can_rate": c.status == "resolved" or (c.status == "closed" and c.rating is None),
        "rating": c.rating,
        "can_reply": c.status != "closed" and c.purged_at is None,
        "messages": [{"author": m.author, "body": m.body, "at": local(m.at)} for m in thread],
        "open_question": open_question(thread) if c.status != "closed" and c.purged_at is None else None,
        # The written report (case_report.py): downloadable once the result is fed back, then confirmed or not.
        "report_available": c.status in ("resolved", "closed") and bool((c.response or "").strip()),
        "report_confirmation": c.report_confirmation,
        "can_answer_report": c.status == "resolved" and c.report_confirmation != "confirmed",
        # Their own files only (staff's interview notes are internal); fetched with the code, by id.
        "attachments": [attachment_json(a) for a in desk().attachments(COMPLAINANT, c)],
        "can_attach": c.status != "closed" and c.purged_at is None and desk().kb.attachments.max_files > 0,
    }


def attachment_json(a: AttachmentView) -> dict:
    return {"id": a.id, "name": a.name, "content_type": a.content_type, "size": a.size, "at": local(a.at)}


@bp.get("/complaints/<code>")
@limit("lookup")
@doc(ok=(200, StatusOut), fail=(404, 429), tags=["public"])
def status(code: str):
    return jsonify(public_view(desk().by_code(code)))


class MessageIn(_In):
    text: str = Field(min_length=1, max_length=process.MAX_MESSAGE)


@bp.post("/complaints/<code>/messages")
@limit("reply")
@doc(json=MessageIn, ok=(201, StatusOut), fail=(400, 404, 409, 429), tags=["public"])
def reply(code: str):
    """The complainant answers a handler's question, identified only by the tracking code."""
    data = parse(MessageIn, request.get_json(silent=True))
    return jsonify(public_view(desk().reply(code, data.text))), 201


class RatingIn(_In):
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=1000)


@bp.post("/complaints/<code>/rating")
@limit("reply")
@doc(json=RatingIn, ok=(200, StatusOut), fail=(400, 404, 409, 429), tags=["public"])
def rate(code: str):
    data = parse(RatingIn, request.get_json(silent=True))
    return jsonify(public_view(desk().rate(code, data.score, data.comment)))


@bp.get("/complaints/<code>/report.pdf")
@limit("lookup")
@doc(fail=(404, 409, 429), tags=["public"])
def report_pdf(code: str):
    """The written 《投诉处理报告》 as PDF, for the complainant (no identity, no staff names)."""
    from .case_report import pdf
    report = desk().complainant_report(code)
    return pdf_response(pdf(report), report.title)


class ReportAnswerIn(_In):
    decision: Literal["confirmed", "disputed"]
    comment: str | None = Field(default=None, max_length=process.MAX_MESSAGE)


@bp.post("/complaints/<code>/report")
@limit("reply")
@doc(json=ReportAnswerIn, ok=(200, StatusOut), fail=(400, 404, 409, 429), tags=["public"])
def answer_report(code: str):
    """The complainant confirms the written report, or disputes it (a supervisor then reviews the complaint)."""
    data = parse(ReportAnswerIn, request.get_json(silent=True))
    return jsonify(public_view(desk().answer_report(code, data.decision, data.comment)))


def pdf_response(body: bytes, title: str):
    """A PDF download: never cached, never shown inline by a browser that might sniff it."""
    from flask import Response
    number = title.rsplit("·", 1)[-1].strip()
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="report-{number}.pdf"', "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff"})


@bp.post("/complaints/<code>/attachments")
@accepts_files
@limit("upload")
@doc(ok=(201, StatusOut), fail=(400, 404, 409, 413, 429), tags=["public"])
def attach(code: str):
    """The complainant attaches photos and files (multipart, field `file`, repeatable; optional `text`).

    Right after submitting (the form has the tracking code from the 201) or
    later from the status page, with a message when `text` is given. Images are
    re-encoded without EXIF or GPS. Answers the status as GET does, with `added`.
    """
    c = desk().by_code(code)
    text = request.form.get("text")
    added = desk().attach(COMPLAINANT, c, uploads(), text=text if text and text.strip() else None)
    return jsonify({**public_view(c), "added": [attachment_json(a) for a in added]}), 201


@bp.get("/complaints/<code>/attachments/<int:attachment_id>")
@limit("lookup")
@doc(fail=(404, 429), tags=["public"])
def attachment(code: str, attachment_id: int):
    """One of the complainant's own files: images inline, anything else as a download."""
    return send_attachment(*desk().attachment_file(COMPLAINANT, desk().by_code(code), attachment_id))
