"""Flask's side of the desk: one Desk per request, and who is asking."""

from __future__ import annotations

from flask import current_app, g
from flask_login import current_user

from .db import get_session
from .desk import Actor, Desk


def desk() -> Desk:
    """The request's desk, over the request's database session."""
    if "kb_desk" not in g:
        g.kb_desk = Desk(get_session(), current_app.config["KB"], current_app.extensions["kb_clock"],
                         current_app.extensions.get("kb_term_weights"))
    return g.kb_desk


def actor() -> Actor:
    """The logged-in staff member as the desk knows them (views are behind staff_required)."""
    return Actor.staff(current_user._get_current_object())
