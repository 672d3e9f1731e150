"""POST /api/v1/deflections: a suggested article solved the problem; count it."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from kb_builder.search import IndexNotBuilt

from .errors import ApiError, Unavailable
from .i18n import gettext
from .limits import limit
from .openapi import OkOut, doc
from .schemas import DeflectionIn, parse
from .suggest import searcher
from .web import desk

bp = Blueprint("deflections", __name__, url_prefix="/api/v1")


@bp.post("/deflections")
@limit("deflect")
@doc(json=DeflectionIn, ok=(201, OkOut), fail=(400, 429, 503), tags=["public"])
def record_deflection():
    data = parse(DeflectionIn, request.get_json(silent=True))
    try:
        known = searcher().has_article(data.article_id)
    except IndexNotBuilt as exc:
        raise Unavailable(str(exc)) from None
    if not known:
        raise ApiError(gettext("Invalid parameters"),
                       [{"field": "article_id", "message": gettext("No published article '%(article_id)s'", article_id=data.article_id)}])
    desk().record_deflection(data.article_id, data.query, data.browser_token, searcher())
    return jsonify({"ok": True}), 201
