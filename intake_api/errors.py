"""Errors users see: the desk's domain errors and HTTP errors mapped to a status once.

JSON under /api/; elsewhere an HTML page, or, for a
workspace form that named where to go back to, the message flashed on that
page (datasette's handle_exception plays this role). Messages are already in the
request's language (intake_api/i18n.py): the desk words them through the catalogues.
"""

from __future__ import annotations

from flask import Flask, current_app, flash, g, jsonify, redirect, render_template, request
from flask.wrappers import Request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .desk import Conflict, DeskError, Forbidden, Invalid, NotFound
from .i18n import N_, gettext

__all__ = ["ApiError", "Conflict", "DeskError", "Forbidden", "Invalid", "NotFound", "Unavailable", "go_back_to"]


class ApiError(DeskError):
    """A request error raised at the edge (a bad body, parameter or header); `status` may be given."""

    def __init__(self, message: str, errors: list[dict] | None = None, status: int | None = None):
        super().__init__(message, errors)
        if status is not None:
            self.status = status


_STAFF_PAGES = {403: N_("You may not open this page."), 404: N_("There is no such page in the workspace."),
                405: N_("This page cannot be opened that way.")}


class Unavailable(DeskError):
    status = 503


def go_back_to(url: str) -> None:
    """A workspace form: a refused action is flashed on this page instead of an error page."""
    g.kb_error_back = url


def _body(message: str, errors: list[dict] | None = None) -> dict:
    body = {"ok": False, "error": message}
    if errors is not None:
        body["errors"] = errors
    return body


def _has_nul(values) -> bool:
    return any("\x00" in v for v in values)


class SafeRequest(Request):
    """A request whose JSON body cannot crash a view: nesting past the parser's limit is a 400.

    Python's JSON parser raises RecursionError (not ValueError) on a body
    nested a few thousand levels deep, which even `silent=True` lets through.
    """

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            raise ApiError(gettext("The JSON body is nested too deeply: send a flat object"),
                           [{"field": "_form", "message": "JSON nested too deeply"}]) from None


def _accepts_files() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "kb_accepts_files", False))


def init_app(app: Flask) -> None:
    app.request_class = SafeRequest

    @app.before_request
    def _upload_limit():
        # Before anything reads the body (the NUL check below parses forms): uploads may be larger.
        if request.method == "POST" and _accepts_files():
            from .web import upload_limit
            request.max_content_length = upload_limit()

    @app.before_request
    def _refuse_nul_characters():
        # NUL cannot be stored in PostgreSQL text and has no place in a complaint:
        # refuse it at the edge, in the path, the query, a form or a JSON body.
        bad = "\x00" in request.path or _has_nul(request.args.values())
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            bad = bad or _has_nul(request.form.values())
        elif request.content_length:
            body = request.get_data(cache=True)
            bad = bad or b"\x00" in body or b"\\u0000" in body
        if bad:
            raise ApiError(gettext("The request contains a NUL character; remove it"),
                           [{"field": "_form", "message": "NUL (\\u0000) is not allowed"}])

    @app.errorhandler(DeskError)
    def _desk_error(exc: DeskError):
        if request.path.startswith("/api/"):
            return jsonify(_body(exc.message, exc.errors)), exc.status
        back = g.get("kb_error_back")
        if back:
            flash(str(exc.message), "error")
            return redirect(back)
        return render_template("staff/error.html", message=str(exc.message), status=exc.status), exc.status

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge):
        from .attachments import human
        limit = request.max_content_length or 0
        over = bool(limit) and (request.content_length is None or request.content_length > limit)
        if over and _accepts_files():
            files = current_app.config["KB"].attachments.max_bytes
            message = gettext("Too large: at most %(value)s per upload (send large files one at a time)",
                              value=human(files))
            errors = [{"field": "file", "message": f"at most {human(files)} per upload"}]
        elif over:
            message = gettext("The request is too large: at most %(value)s", value=human(limit))
            errors = [{"field": "_form", "message": f"at most {human(limit)}"}]
        else:  # a form field over MAX_FORM_MEMORY_SIZE, or too many parts
            message = gettext("A form field is too large, or the form has too many parts")
            errors = [{"field": "_form", "message": "a field too large or too many parts"}]
        if request.path.startswith("/api/"):
            return jsonify(_body(message, errors)), 413
        if _accepts_files() and request.view_args and "number" in request.view_args:
            flash(message, "error")  # the workspace's upload form
            return redirect(request.path.rsplit("/attachments", 1)[0])
        return exc

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # API clients get JSON; the static site keeps its own HTML error pages.
        if request.path.startswith("/api/") and exc.code == 429:
            # Flask-Limiter's description is "120 per 1 minute": say what it means and what to do. Its
            # Retry-After header (headers_enabled) says when.
            limit = getattr(exc, "limit", None)
            message = gettext("Too many requests from your address (at most %(value)s): wait a moment and try again",
                              value=str(limit.limit) if limit is not None else exc.description)
            return jsonify(_body(message, [{"field": "_form", "message": f"rate limit {exc.description}"}])), 429
        if request.path.startswith("/api/"):
            return jsonify(_body(exc.description or exc.name)), exc.code
        if (request.path == "/staff" or request.path.startswith("/staff/")) and exc.code in _STAFF_PAGES:
            # The workspace's own page, in its style and the staff member's language.
            return render_template("staff/error.html", message=gettext(_STAFF_PAGES[exc.code]),
                                   status=exc.code), exc.code
        return exc
