"""The intake API: suggestions, complaints and deflections, the staff workspace, plus the built site."""

from __future__ import annotations

from flask import Flask

from kb_builder.analysis import warm_up
from kb_builder.config import load_config
from kb_builder.search import Searcher


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app. test_config may hold KB_CONFIG (path to kb.yml), KB_OVERRIDES
    (dotted kb.yml keys, e.g. {"process.calendar": {...}}) and any Flask setting."""
    test_config = test_config or {}
    kb = load_config(test_config.get("KB_CONFIG"), overrides=test_config.get("KB_OVERRIDES"))
    app = Flask(__name__)
    app.config.from_mapping(
        KB=kb,
        DATABASE_URL=kb.db_url,
        INDEX_DIR=str(kb.index_dir),
        SITE_DIR=str(kb.site_dir),
        SITE_BASE_PATH=kb.site.base_path,
        INSTANCE_DIR=str(kb.path("database").parent),
        SERVE_SITE=True,
        DB_AUTO_MIGRATE=True,
        MAX_CONTENT_LENGTH=64 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session's life
    )
    app.config.update({k: v for k, v in test_config.items() if k not in ("KB_CONFIG", "KB_OVERRIDES")})
    app.json.ensure_ascii = False  # Chinese as Chinese, not \u escapes

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
        limits,
        openapi,
        sensitive,
        site,
        staff_api,
        suggest,
        workspace,
    )
    from .sla import make_clock

    warm_up()
    db.init_app(app)
    auth.init_app(app)
    app.extensions["kb_searcher"] = Searcher(app.config["INDEX_DIR"], semantic=kb.search.semantic)
    app.extensions["kb_clock"] = make_clock(kb)
    app.extensions["kb_term_weights"] = alerts.TermWeights(app.config["INDEX_DIR"])
    errors.init_app(app)
    headers.init_app(app)
    boundary.init_app(app)
    limits.init_app(app)
    sensitive.init_app(app)
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
