"""Rate limits that hold across workers: Flask-Limiter over a shared store.

The embedded default counts in memory (one process); set rate_limits.storage
(KB_RATELIMIT_STORAGE) to redis://host:6379 so that every worker and node
shares the counters. create_app fills Flask-Limiter's RATELIMIT_* keys from
kb.yml's rate_limits.
Counters live for their window only (a minute or an hour): nothing about a
client is kept longer than that.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)

DEFAULTS = {
    "suggest": "240/minute",
    "submit": "20/minute;200/hour",
    "lookup": "30/minute",       # tracking-code look-ups: enumeration is rate-limited...
    "reply": "20/minute",
    "deflect": "60/minute",
    # Logins are counted in the database, not here (login_guard.py), with these limits:
    "login": "10/minute",        # per address
    "login_user": "5/minute",    # per username as the login normalises it: slows brute force from many addresses
}


def limit(name: str, methods: list[str] | None = None):
    """A decorator applying the named limit from app config RATE_LIMITS."""
    return limiter.limit(lambda: current_app.config["RATE_LIMITS"][name], methods=methods)


def init_app(app: Flask) -> None:
    app.config.setdefault("RATE_LIMITS", dict(DEFAULTS))
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    limiter.init_app(app)
