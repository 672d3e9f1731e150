"""POST /api/v1/events: anonymous usage events from the site (searches, page votes, suggestions shown).

Stored without identity or address. Search texts are redacted with the same
redactor that publishes articles (kb_builder.redact: names by recognition,
identifiers by pattern), and not kept at all when they describe a sensitive matter.
"""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, current_app, jsonify, request
from pydantic import Field

from kb_builder.redact import Redactor

from .db import get_session
from .limits import limit
from .models import AnalyticsEvent
from .openapi import OkOut, doc
from .schemas import _In, parse
from .sensitive import assess

bp = Blueprint("events", __name__, url_prefix="/api/v1")


class EventIn(_In):
    kind: Literal["search", "page_feedback", "suggestions_shown"]
    query: str | None = Field(default=None, max_length=500)
    result_count: int | None = Field(default=None, ge=0, le=100_000)
    page: str | None = Field(default=None, max_length=300)
    value: int | None = Field(default=None, ge=0, le=1)
    article_ids: list[str] = Field(default_factory=list, max_length=20)


def clean_query(text: str | None) -> str | None:
    if not text:
        return None
    kb = current_app.config["KB"]
    if assess(kb, text).sensitive:
        return None
    return Redactor.for_settings(kb.process.privacy).redact(text[:200])[0]


@bp.post("/events")
@limit("deflect")
@doc(json=EventIn, ok=(201, OkOut), fail=(400, 429), tags=["public"])
def record_event():
    data = parse(EventIn, request.get_json(silent=True, force=True))
    session = get_session()
    session.add(AnalyticsEvent(kind=data.kind, query=clean_query(data.query), result_count=data.result_count,
                               page=data.page, value=data.value, article_ids=[a[:100] for a in data.article_ids]))
    session.commit()
    return jsonify({"ok": True}), 201
