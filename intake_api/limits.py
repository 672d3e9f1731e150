"""Rate limits that hold across workers: Flask-Limiter over a shared store.

The embedded default counts in memory (one process); set rate_limits.storage
(KB_RATELIMIT_STORAGE) to redis://host:6379 so that every worker and node
shares the counters. create_app fills Flask-Limiter's RATELIMIT_* keys from
kb.yml's rate_limits, which also holds each limit. Counters live for their window only (a minute or an hour): nothing about a
client is kept longer than that.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from kb_builder.config import RateLimitSettings

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def limit(name: str, methods: list[str] | None = None):
    """A decorator applying the limit kb.yml's rate_limits.<name> sets."""
    if name not in RateLimitSettings.model_fields:
        raise ValueError(f"no rate limit '{name}': declare rate_limits.{name} in kb_builder/config.py")
    return limiter.limit(lambda: getattr(current_app.config["KB"].rate_limits, name), methods=methods)


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    limiter.init_app(app)
