"""The intake API: suggestions, complaints and deflections, the staff workspace, plus the built site."""

from __future__ import annotations

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from kb_builder.analysis import warm_up
from kb_builder.config import load_config
from kb_builder.errors import ConfigError, Problem
from kb_builder.search import Searcher

# Flask keys that once copied kb.yml settings: config["KB"] is the one source now.
REMOVED_KEYS = {"DATABASE_URL": "database_url", "INDEX_DIR": "paths.index", "SITE_DIR": "paths.site",
                "SITE_BASE_PATH": "site.base_path", "INSTANCE_DIR": "paths.database (its folder)",
                "IDENTITY_KEYS": "secrets.identity_keys"}


class RowId(IntegerConverter):
    """A route's integer as a row id: 0 to 2**31 - 1, the range of PostgreSQL's integer columns."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app. test_config may hold KB_CONFIG (path to kb.yml), KB_OVERRIDES
    (dotted kb.yml keys, e.g. {"database_url": ..., "process.calendar": {...}}) and Flask settings.

    config["KB"] holds the validated KbConfig, the one source of every kb.yml
    setting and KB_* variable; the Flask and Flask-Limiter keys below are
    filled from it.
    """
    test_config = test_config or {}
    stale = [Problem("create_app", "is no longer a Flask setting", field=k,
                     fix=f"pass KB_OVERRIDES={{'{REMOVED_KEYS[k]}': ...}} and read config['KB']")
             for k in REMOVED_KEYS if k in test_config]
    if stale:
        raise ConfigError(stale)
    kb = load_config(test_config.get("KB_CONFIG"), overrides=test_config.get("KB_OVERRIDES"))
    app = Flask(__name__)
    app.config.from_mapping(
        KB=kb,
        SERVE_SITE=True,
        DB_AUTO_MIGRATE=True,
        MAX_CONTENT_LENGTH=64 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session's life
        RATELIMIT_ENABLED=kb.rate_limits.enabled,
        RATELIMIT_STORAGE_URI=kb.rate_limits.storage,
        RATELIMIT_KEY_PREFIX=kb.rate_limits.key_prefix,
    )
    app.config.update({k: v for k, v in test_config.items() if k not in ("KB_CONFIG", "KB_OVERRIDES")})
    if isinstance(app.json, DefaultJSONProvider):
        app.json.ensure_ascii = False  # Chinese as Chinese, not \u escapes
    # Every <int:...> in a route is a row id: one the database cannot hold (PostgreSQL's integer, SQLite's
    # 64 bits) matches no route (404), instead of an overflow inside the query (a 500). Set before any
    # blueprint adds its rules.
    app.url_map.converters["int"] = RowId

    from flask_wtf.csrf import CSRFProtect

    from . import (
        alerts,
        auth,
        boundary,
        complaints,
        db,
        deflections,
        errors,
        events,
        headers,
        health,
        i18n,
        limits,
        notices,
        openapi,
        sensitive,
        site,
        staff_api,
        suggest,
        workspace,
    )
    from .sla import make_clock

    warm_up()
    i18n.init_app(app)  # first: every later hook and error speaks the request's language
    db.init_app(app)
    auth.init_app(app)
    app.extensions["kb_searcher"] = Searcher(kb.index_dir, semantic=kb.search.semantic)
    app.extensions["kb_clock"] = make_clock(kb, app.extensions["db_engine"])
    app.extensions["kb_term_weights"] = alerts.TermWeights(kb.index_dir)
    errors.init_app(app)
    headers.init_app(app)
    boundary.init_app(app)
    limits.init_app(app)
    sensitive.init_app(app)
    if kb.notifications.enabled:  # HR's message templates, checked now: a broken one names its file and line
        app.extensions["kb_notices"] = notices.load(kb.path("notifications"))
    csrf = CSRFProtect(app)
    # The public API uses no cookies, so cross-site requests cannot ride on a session.
    for public in (suggest.bp, complaints.bp, deflections.bp, events.bp, health.bp):
        csrf.exempt(public)
        app.register_blueprint(public)
    # JSON login cannot be forged cross-site (a form cannot send application/json);
    # it hands out the CSRF token every later staff API call must carry.
    csrf.exempt(staff_api.login)
    app.register_blueprint(staff_api.bp)
    app.register_blueprint(workspace.bp)
    workspace.init_app(app)
    openapi.init_app(app)
    if app.config["SERVE_SITE"]:
        app.register_blueprint(site.bp)
    from . import proxies
    proxies.init_app(app)  # X-Forwarded-* as server.trusted_proxies says; redirects never name a host
    return app
