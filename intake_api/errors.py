"""API errors: one class with a status, one handler that answers JSON."""

from __future__ import annotations

from flask import Flask, jsonify, request
from flask.wrappers import Request
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    status = 400

    def __init__(self, message: str, errors: list[dict] | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors
        if status is not None:
            self.status = status


class NotFound(ApiError):
    status = 404


class Unavailable(ApiError):
    status = 503


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
            raise ApiError("JSON 嵌套太深 · The JSON body is nested too deeply: send a flat object",
                           [{"field": "_form", "message": "JSON nested too deeply"}]) from None


def init_app(app: Flask) -> None:
    app.request_class = SafeRequest

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
            raise ApiError("请求中含有不允许的空字符 (NUL) · The request contains a NUL character; remove it",
                           [{"field": "_form", "message": "NUL (\\u0000) is not allowed"}])

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify(_body(exc.message, exc.errors)), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # API clients get JSON; the static site keeps its own HTML error pages.
        if request.path.startswith("/api/"):
            return jsonify(_body(exc.description or exc.name)), exc.code
        return exc
