"""POST /api/v1/events: anonymous usage events from the site (searches, page votes, suggestions shown).

Stored without identity or address. Search texts are redacted with the same
redactor that publishes articles (kb_builder.redact: names by recognition,
identifiers by pattern), and not kept at all when they describe a sensitive matter.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Literal
from urllib.parse import unquote, urlsplit

from flask import Blueprint, current_app, jsonify, request
from pydantic import Field

from .errors import ApiError
from .i18n import gettext
from .limits import limit
from .openapi import OkOut, doc
from .schemas import _In, parse
from .web import desk

bp = Blueprint("events", __name__, url_prefix="/api/v1")


class EventIn(_In):
    # article_opened: an article opened from the complaint form's suggestions (learning.py)
    kind: Literal["search", "page_feedback", "suggestions_shown", "article_opened"]
    query: str | None = Field(default=None, max_length=500)
    result_count: int | None = Field(default=None, ge=0, le=100_000)
    page: str | None = Field(default=None, max_length=300)
    value: int | None = Field(default=None, ge=0, le=1)
    article_ids: list[str] = Field(default_factory=list, max_length=20)


def site_page(page: str | None) -> str | None:
    """The page as a path of the built site (`/faq/x/y/`), or an error: nothing else is stored.

    Event fields end up in the quarterly review; a page that is not one of
    ours (an off-site URL, a script, a path that leaves the site) is refused.
    """
    if page is None:
        return None
    parts = urlsplit(page)
    base = current_app.config["KB"].site.base_path.rstrip("/")
    path = unquote(parts.path)
    if parts.scheme or parts.netloc or not path.startswith("/") or "\\" in path:
        path = ""
    elif base and path.startswith(base + "/"):
        path = path[len(base):]
    rel = PurePosixPath(path.lstrip("/"))
    site = current_app.config["KB"].site_dir
    ok = bool(path) and ".." not in rel.parts and not any(p.startswith(".") for p in rel.parts) and (
        (site / rel / "index.html").is_file() or (str(rel).endswith(".html") and (site / rel).is_file()))
    if not ok:
        raise ApiError(gettext("Invalid parameters"), [{"field": "page", "message":
                       gettext("a page path of this site, e.g. /faq/facilities/water-dispenser-not-working/")}])
    if str(rel) == ".":
        return "/"
    return "/" + str(rel) + ("" if str(rel).endswith(".html") else "/")


def known_articles(ids: list[str]) -> list[str]:
    searcher = current_app.extensions["kb_searcher"]
    bad = [i for i in ids if not searcher.has_article(i)]
    if bad:
        raise ApiError(gettext("Invalid parameters"), [{"field": "article_ids", "message":
                       gettext("only ids of articles in the knowledge base")}])
    return ids


@bp.post("/events")
@limit("deflect")
@doc(json=EventIn, ok=(201, OkOut), fail=(400, 429), tags=["public"])
def record_event():
    data = parse(EventIn, request.get_json(silent=True, force=True))
    desk().record_event(data.kind, data.query, data.result_count, site_page(data.page), data.value,
                        known_articles(data.article_ids))
    return jsonify({"ok": True}), 201
