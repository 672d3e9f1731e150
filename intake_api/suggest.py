"""GET or POST /api/v1/suggest: the articles that may answer what the employee is typing; GET /api/v1/search: the site's.

POST takes the same parameters as a JSON body ({"q": ..., "limit": ...}):
the form sends long descriptions that way, since a URL of about 450 Chinese
characters (percent-encoded, 9 bytes each) is refused with 414.

/api/v1/search is the site's search box (kb_builder/site_search.py): the
same ranking, every result whatever its confidence, and no sensitive-topic
gate (someone looking for the harassment SOP must find it).

When the best match is not confident (kb.yml `search.confidence_threshold`)
the answer has no results: the form stays quiet rather than show junk.
`all=1` (staff tools, recalibration) returns the results anyway, still
marked `confident: false`.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from kb_builder.analysis import normalize, terms
from kb_builder.search import IndexNotBuilt, Searcher

from . import sensitive
from .errors import ApiError, Unavailable
from .i18n import gettext
from .limits import limit
from .openapi import SearchOut, SearchQuery, SuggestOut, SuggestQuery, doc

bp = Blueprint("suggest", __name__, url_prefix="/api/v1")

MAX_QUERY_CHARS = 2000
MAX_LIMIT = 10
SEARCH_LIMIT = 20


def searcher() -> Searcher:
    return current_app.extensions["kb_searcher"]


def site_url(path: str) -> str:
    return current_app.config["KB"].site.base_path.rstrip("/") + "/" + path.lstrip("/")


def parameters() -> dict:
    """The request's parameters: the query string (GET) or the JSON body (POST); {} for a body that is not an object."""
    if request.method == "POST":
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else {}
    return request.args


def _query(params, max_limit: int) -> tuple[str, int]:
    """The text and the number of results asked for; ApiError naming each bad field."""
    text = params.get("q", "")
    errors = []
    if not isinstance(text, str):
        errors.append({"field": "q", "message": gettext("Must be text")})
        text = ""
    elif not text.strip():
        errors.append({"field": "q", "message": gettext("Required: give the text to match, e.g. ?q=饮水机坏了")})
    elif len(text) > MAX_QUERY_CHARS:
        errors.append({"field": "q", "message": gettext("At most %(max_query_chars)s characters", max_query_chars=MAX_QUERY_CHARS)})
    limit = params.get("limit", 5)
    try:
        if isinstance(limit, bool) or not isinstance(limit, (int, str)):
            raise ValueError
        limit = int(limit)
        if not 1 <= limit <= max_limit:
            raise ValueError
    except ValueError:
        errors.append({"field": "limit", "message": gettext("A whole number from 1 to %(max_limit)s", max_limit=max_limit)})
    if errors:
        raise ApiError(gettext("Invalid parameters"), errors)
    return text, limit


@bp.get("/search")
@limit("search")
@doc(query=SearchQuery, ok=(200, SearchOut), fail=(400, 429, 503), tags=["public"])
def search():
    text, limit = _query(request.args, SEARCH_LIMIT)
    words = query_terms(text)
    if not words:  # only stop words ("not", "the", 的): nothing to match, not the vectors' nearest pages
        return jsonify({"query": text, "results": [], "terms": []})
    try:
        hits = searcher().suggest(text, limit=limit).hits
    except IndexNotBuilt as exc:
        raise Unavailable(str(exc)) from None
    results = [{"title": h.title, "url": site_url(h.url), "snippet": h.snippet, "score": h.score,
                "category": h.category, "language": h.language} for h in hits]
    return jsonify({"query": text, "results": results, "terms": words})


def query_terms(text: str) -> list[dict]:
    """The query's words as the index cut them: `shown` as typed (folded), `term` the index term (a stem).

    The site's search worker highlights each in the results; stop words (not, the, 的...) are not among
    them, as they match nothing.
    """
    folded = normalize(text)
    seen: dict[tuple[str, str], None] = {}
    for t in terms(text):
        seen.setdefault((folded[t.start:t.end], t.text), None)
    return [{"shown": shown, "term": term} for shown, term in seen]


@bp.route("/suggest", methods=["GET", "POST"])
@limit("suggest")
@doc(query=SuggestQuery, ok=(200, SuggestOut), fail=(400, 429, 503), tags=["public"])
def suggest():
    params = parameters()
    text, limit = _query(params, MAX_LIMIT)
    # Sensitive texts are answered before any search runs: no articles, the direct path instead, so no
    # ranking change can ever bring articles back for harassment, discrimination, misconduct or danger.
    kb = current_app.config["KB"]
    category = params.get("category")
    sens = sensitive.assess(kb, text, category if isinstance(category, str) and category else None, typing=True)
    if sens.sensitive:
        return jsonify({"query": text, "results": [], "confident": False, **sens.as_dict(kb)})
    rec = sensitive.recogniser(kb)
    # Undecided whether this is harassment or the like: no articles yet, no panel either; the next
    # keystrokes decide (the answer still carries its confidence, results withheld).
    hold = rec is not None and sens.verdict.hold(rec.rules.hold)
    show_all = str(params.get("all", "")) in ("1", "true", "True")
    try:
        answer = searcher().suggest(text, limit=limit)
    except IndexNotBuilt as exc:
        raise Unavailable(str(exc)) from None
    threshold = kb.search.confidence_threshold
    # No confidence figure (an index without vectors): the lexical answer stands.
    confident = bool(answer.hits) and (answer.confidence is None or answer.confidence >= threshold)
    results = []
    for hit in answer.hits if confident or show_all else []:
        item = {"id": hit.id, "title": hit.title, "url": site_url(hit.url), "snippet": hit.snippet,
                "score": hit.score, "category": hit.category, "language": hit.language, "why": hit.why}
        results.append(item)
    out = {"query": text, "confident": confident, "confidence": answer.confidence,
           "threshold": threshold, "results": results}
    if hold and not show_all:
        out.update(results=[], confident=False, hold=True)
    return jsonify(out)
