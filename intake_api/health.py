"""GET /api/v1/health: may a load balancer send this node traffic?

`/api/v1/meta` answers even when the database is unreachable or the index
was never shipped; a node in that state would take complaints it cannot
store and answer every suggestion with 503. This checks both, cheaply
(one `SELECT 1`; the index is already open), and says what to fix. It
names no host, URL or path: the answer is public.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from kb_builder.search import IndexNotBuilt

from .openapi import HealthOut, doc

bp = Blueprint("health", __name__, url_prefix="/api/v1")
log = logging.getLogger("kb.health")


def _database() -> str:
    try:
        with current_app.extensions["db_engine"].connect() as conn:
            conn.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # any driver error means the same to a load balancer
        log.error("health: database unreachable: %s", exc)
        return "unreachable: check KB_DATABASE_URL and that the database server is up"


def _index() -> tuple[str, int | None, bool | None]:
    try:
        articles, semantic = current_app.extensions["kb_searcher"].status()
        return "ok", articles, semantic
    except IndexNotBuilt:
        return "missing: run `kb build` (or ship build/index/) on this node", None, None
    except Exception as exc:
        log.error("health: index unreadable: %s", exc)
        return "unreadable: rebuild with `kb build` or ship build/index/ again", None, None


@bp.get("/health")
@doc(ok=(200, HealthOut), fail=(503,), tags=["public"])
def health():
    database = _database()
    index, articles, semantic = _index()
    ok = database == "ok" and index == "ok"
    body = {"ok": ok, "database": database, "index": index, "articles": articles, "semantic": semantic}
    return jsonify(body), 200 if ok else 503
