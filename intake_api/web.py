"""Flask's side of the desk: one Desk per request, and who is asking."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, g, request, send_file
from flask_login import current_user

from . import attachments
from .attachments import Upload
from .db import get_session
from .desk import Actor, AttachmentView, Desk


def desk() -> Desk:
    """The request's desk, over the request's database session."""
    if "kb_desk" not in g:
        g.kb_desk = Desk(get_session(), current_app.config["KB"], current_app.extensions["kb_clock"],
                         current_app.extensions.get("kb_term_weights"))
    return g.kb_desk


def actor() -> Actor:
    """The logged-in staff member as the desk knows them (views are behind staff_required)."""
    return Actor.staff(current_user._get_current_object())


# -- Files: the three front ends that take and serve attachments share this ------------------------------

# Multipart framing and a short text field on top of the files themselves.
UPLOAD_OVERHEAD = 256 * 1024


def accepts_files(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view that takes uploads: its requests may be as large as attachments.max_bytes (errors.py)."""
    view.kb_accepts_files = True  # type: ignore[attr-defined]
    return view


def upload_limit() -> int:
    """The largest upload request: one request's files together, at most attachments.max_bytes."""
    return current_app.config["KB"].attachments.max_bytes + UPLOAD_OVERHEAD


def uploads() -> list[Upload]:
    """The files of the request's `file` field (repeatable); a part with neither name nor bytes is no file."""
    out = []
    for part in request.files.getlist(attachments.FIELD):
        data = part.read()
        if data or part.filename:
            out.append(Upload(part.filename or "", data))
    return out


def send_attachment(view: AttachmentView, path) -> Any:
    """The stored bytes with the stored type: inline for images, a download for anything else; never cached."""
    response = send_file(path, mimetype=view.content_type, as_attachment=not view.is_image,
                         download_name=attachments.download_name(view.name, view.content_type),
                         conditional=False, etag=False, max_age=None)
    response.direct_passthrough = False  # spectree (openapi.py) reads the body of what it describes
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Whatever a file holds, it runs nothing if a browser ever renders it.
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    return response
